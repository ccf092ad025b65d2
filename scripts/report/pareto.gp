# pareto.gp — the Pareto section's two pictures: energy per output token against the 90th
# percentile of TPOT (fig_pareto_tpot) or of TTFT (fig_pareto_ttft), every configuration of the
# results as a point, one colour per group (a model; /workload, @machine when those vary), the
# group's Pareto frontier as a line through its frontier points (labelled), and the latency
# targets' bounds on that axis as dashed verticals. Log-log: lower left is better.
# Variables beyond common.gp's: data (pareto.csv), frontier (data/pareto_frontier.csv), groups
# (words: group i is word(groups, i)), axis (tpot or ttft), xcol (the p90 column of pareto.csv),
# fcol (its on_frontier column), what (the latency in words), bounds (words: the SLO bounds on
# this axis, ms; may be empty).
load scripts.'/common.gp'
set logscale xy
set xlabel sprintf('%s, 90th percentile (ms, log scale)', what)
set ylabel 'energy per output token (J/token, log scale)'
set key outside right top box
in_group(i) = strcol("group") eq word(groups, i)
in_front(i) = strcol("group") eq word(groups, i) && strcol("axis") eq axis
do for [k=1:words(bounds)] {
    set arrow k from first word(bounds, k) + 0, graph 0 to first word(bounds, k) + 0, graph 1 nohead dt 2 lw 1.5 lc rgb '#888888'
    set label k sprintf("SLO %s ms", word(bounds, k)) at first word(bounds, k) + 0, graph 0.97 left offset char 0.5, 0 font ',9' textcolor rgb '#555555'
}
do for [ext in "png svg"] {
    eval set_term
    eval mark_energy
    set title sprintf("Energy per output token against %s (p90), Pareto frontier per model\n%s", what, subtitle)
    plot for [i=1:words(groups)] data using (column(xcol)):(in_group(i) ? column("j_per_output_token") : NaN) with points lt i title word(groups, i), \
         for [i=1:words(groups)] frontier using "latency_ms":(in_front(i) ? column("j_per_output_token") : NaN) with lines lt i lw 2 notitle, \
         data using (column(xcol)):(column(fcol) == 1 ? column("j_per_output_token") : NaN):"point" with labels offset char 0.8, 0.8 left font ',8' notitle
}
