# cost.gp — picture 5: cost per 1,000 queries of each configuration of the report's workload,
# a stacked bar of energy (facility energy x electricity price) and hardware (purchase spread
# over its busy hours, or cloud rent, x the time each query holds the machine).
# Variables beyond common.gp's: currency, profile, workload.
load scripts.'/common.gp'
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border rgb '#333333'
set boxwidth 0.7
set xtics rotate by -35 scale 0 font ',9'
set bmargin 11
set ylabel sprintf('cost per 1,000 queries (%s)', currency)
set yrange [0:*]
set key top left box opaque
# the total on top of each bar, and how much of it is energy (too thin to see at times)
bar_label(total, share) = share == share ? sprintf("%.3g\nenergy %.2g%%", total, 100 * share) : sprintf("%.3g\nenergy: -", total)
set offsets 0, 0, graph 0.08, 0
do for [ext in "png svg"] {
    eval set_term
    eval mark_energy
    set title sprintf("Cost per 1,000 queries, workload %s, cost profile %s\n%s", workload, profile, subtitle)
    plot data using "energy_per_1k":xtic(strcol("label")) lc rgb '#d95f02' title 'energy', \
         data using "hardware_per_1k" lc rgb '#7570b3' title 'hardware', \
         data using ($0):(column("total_per_1k")):(bar_label(column("total_per_1k"), column("energy_share"))) with labels offset char 0,1.3 font ',9' notitle
}
