# speed.gp — picture 2: decode speed (generated tokens per second of decode) and time to first
# token (median) against parameter count, log-log, one line per series.
# Variables beyond common.gp's: series (words), xmin, xmax.
load scripts.'/common.gp'
in_series(i) = strcol("series") eq word(series, i)
set logscale xy
set format x '%.0s%c'
set xrange [xmin:xmax]
set xlabel 'model parameters N (count, log scale)'
set key top right box opaque
do for [ext in "png svg"] {
    eval set_term
    set multiplot layout 1,2 title "Speed vs model size (medians over repetitions)\n".subtitle
    set ylabel 'decode speed (tokens/s, log scale)'
    plot for [i=1:words(series)] data using "params":(in_series(i) ? column("decode_tok_s") : NaN) with linespoints lt i title word(series, i)
    set ylabel 'time to first token, median (ms, log scale)'
    plot for [i=1:words(series)] data using "params":(in_series(i) ? column("ttft_ms_p50") : NaN) with linespoints lt i title word(series, i)
    unset multiplot
}
