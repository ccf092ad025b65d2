# latency_cdf.gp — picture 3: the distribution of time to first token and of time per output
# token over every request of every repetition (requests.csv), one step line per
# configuration of the report's workload.
# Variables beyond common.gp's: labels (words: the configurations), workload.
load scripts.'/common.gp'
is(i, m) = strcol("label") eq word(labels, i) && strcol("metric") eq m
set logscale x
set yrange [0:1.02]
set ylabel 'share of requests at or below (cumulative)'
set key bottom right box opaque font ',9'
do for [ext in "png svg"] {
    eval set_term
    set multiplot layout 1,2 title sprintf("Latency distribution per configuration, workload %s (all requests)\n%s", workload, subtitle)
    set xlabel 'time to first token, TTFT (ms, log scale)'
    plot for [i=1:words(labels)] data using "ms":(is(i, "ttft") ? column("cdf") : NaN) with steps lt i dt dash(i) title word(labels, i)
    set xlabel 'time per output token, TPOT (ms, log scale)'
    plot for [i=1:words(labels)] data using "ms":(is(i, "tpot") ? column("cdf") : NaN) with steps lt i dt dash(i) title word(labels, i)
    unset multiplot
}
