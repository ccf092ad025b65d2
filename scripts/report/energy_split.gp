# energy_split.gp — picture 6: the share of each configuration's energy spent in prefill (the
# prompt), in decode (generating) and the rest (waiting for arrivals, KV-cache setup), as
# stacked bars summing to 100%.
# Variables beyond common.gp's: workload.
load scripts.'/common.gp'
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border rgb '#333333'
set boxwidth 0.7
set xtics rotate by -35 scale 0 font ',9'
set bmargin 11
set ylabel 'share of the energy of a repetition (%)'
set yrange [0:100]
set key outside right top box
pct(c) = 100 * column(c)
do for [ext in "png svg"] {
    eval set_term
    eval mark_energy
    set title sprintf("Prefill vs decode share of energy, workload %s\n%s", workload, subtitle)
    plot data using (pct("prefill_energy_share")):xtic(strcol("label")) lc rgb '#f4a582' title 'prefill', \
         data using (pct("decode_energy_share")) lc rgb '#92c5de' title 'decode', \
         data using (pct("other_energy_share")) lc rgb '#cccccc' title 'other (idle, setup)'
}
