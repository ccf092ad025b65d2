# energy_per_token.gp — picture 1, the headline: energy per output token against parameter
# count (log-log), one line per series (dtype, and whatever else varies), with the power law
# E = a * N^b fitted by joulebench (dashed; a, b and R^2 in the key). Hollow points are
# models too small to be fitted (--fit-min-params). Layer-sampled models (extrapolated = 1:
# K of their L layers ran, figures scaled to all L) are large hollow diamonds with their K/L,
# never joined to the measured line; the dotted line is the fit with them included.
# Variables beyond common.gp's: series (words: series i is word(series, i)), fit_a_I, fit_b_I,
# fit_r2_I, fit_lo_I for each series I (NaN where there is no fit; the line starts at fit_lo_I,
# just left of the smallest model fitted), fitx_a_I, fitx_b_I (the fit with the extrapolated
# models, NaN without any), xmin, xmax (the x range, parameters).
load scripts.'/common.gp'
set logscale xy
set format x '%.0s%c'
set xrange [xmin:xmax]
set xlabel 'model parameters N (count, log scale)'
set ylabel 'energy per output token E (J/token, log scale)'
set key top left box opaque samplen 3 spacing 1.2
fa(i) = value(sprintf('fit_a_%d', i))
fb(i) = value(sprintf('fit_b_%d', i))
fr2(i) = value(sprintf('fit_r2_%d', i))
flo(i) = value(sprintf('fit_lo_%d', i))
has_fit(i) = fb(i) == fb(i)
r2_text(i) = fr2(i) == fr2(i) ? sprintf("R^2 = %.3f", fr2(i)) : "2 points, no R^2"
fit_title(i) = has_fit(i) ? sprintf("fit %s: E = %.3g * N^%.3f, %s", word(series, i), fa(i), fb(i), r2_text(i)) : ''
fxa(i) = value(sprintf('fitx_a_%d', i))
fxb(i) = value(sprintf('fitx_b_%d', i))
has_fitx(i) = fxb(i) == fxb(i)
fitx_title(i) = has_fitx(i) ? sprintf("fit %s with the extrapolated: E = %.3g * N^%.3f", word(series, i), fxa(i), fxb(i)) : ''
in_series(i) = strcol("series") eq word(series, i)
sampled = "extrapolated"
is_sampled = 'column(sampled) == 1'
sampled_label = 'sprintf("%d/%d layers", column("layers_run"), column("layers_total"))'
do for [ext in "png svg"] {
    eval set_term
    eval mark_energy
    set title "Energy per output token vs model size (decode energy / tokens generated)\n".subtitle
    plot for [i=1:words(series)] data using "params":(in_series(i) && column("in_fit") == 1 ? column("j_per_output_token") : NaN) with linespoints lt i title word(series, i), \
         for [i=1:words(series)] data using "params":(in_series(i) && column("in_fit") == 0 ? column("j_per_output_token") : NaN) with points lt i pt 6 notitle, \
         for [i=1:words(series)] (has_fit(i) && x >= flo(i) ? fa(i) * x**fb(i) : NaN) with lines lt i dt 2 lw 1.5 title fit_title(i), \
         for [i=1:words(series)] data using "params":(in_series(i) && @is_sampled ? column("j_per_output_token") : NaN) with points lt i pt 12 ps 2.6 lw 2 title (i == 1 ? "extrapolated, K of L layers (layer sampling)" : ""), \
         for [i=1:words(series)] (has_fitx(i) && x >= flo(i) ? fxa(i) * x**fxb(i) : NaN) with lines lt i dt 3 lw 1 title fitx_title(i), \
         data using "params":(@is_sampled ? column("j_per_output_token") : NaN):(@sampled_label) with labels offset char 0,-1.6 font ',8' notitle, \
         data using "params":(in_series(1) ? column("j_per_output_token") : NaN):"model" with labels offset char 0,1.1 font ',8' notitle
}
