# speed.gp — picture 2: decode speed (generated tokens per second of decode) and time to first
# token (median) against parameter count, log-log, one line per series. Layer-sampled models
# (extrapolated = 1) are large hollow diamonds, not joined to the measured line.
# Variables beyond common.gp's: series (words), xmin, xmax.
load scripts.'/common.gp'
in_series(i) = strcol("series") eq word(series, i)
whole(i) = in_series(i) && column("extrapolated") != 1
sampled(i) = in_series(i) && column("extrapolated") == 1
sampled_title(i) = i == 1 ? "extrapolated, K of L layers (layer sampling)" : ""
set logscale xy
set format x '%.0s%c'
set xrange [xmin:xmax]
set xlabel 'model parameters N (count, log scale)'
set key top right box opaque
do for [ext in "png svg"] {
    eval set_term
    set multiplot layout 1,2 title "Speed vs model size (medians over repetitions)\n".subtitle
    set ylabel 'decode speed (tokens/s, log scale)'
    plot for [i=1:words(series)] data using "params":(whole(i) ? column("decode_tok_s") : NaN) with linespoints lt i title word(series, i), \
         for [i=1:words(series)] data using "params":(sampled(i) ? column("decode_tok_s") : NaN) with points lt i pt 12 ps 2.6 lw 2 title sampled_title(i)
    set ylabel 'time to first token, median (ms, log scale)'
    plot for [i=1:words(series)] data using "params":(whole(i) ? column("ttft_ms_p50") : NaN) with linespoints lt i title word(series, i), \
         for [i=1:words(series)] data using "params":(sampled(i) ? column("ttft_ms_p50") : NaN) with points lt i pt 12 ps 2.6 lw 2 title sampled_title(i)
    unset multiplot
}
