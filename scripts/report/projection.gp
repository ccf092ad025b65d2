# projection.gp — the pictures of `joulebench project`, every one PROJECTED (a roofline
# calibrated by measurements, never a measurement). One script, three pictures, chosen by
# `picture`:
#   cost    cost per 1,000 queries of each device, one bar group per device, one bar per model
#   speed   decode tokens/s against model size (parameters), one line per device
#   energy  joules per output token against model size, one line per device
# Variables beyond common.gp's (set by joulebench): picture, devices (words), models (words, in
# the order projected), workload, dtype, currency, profile. The data (data/projection_plot.csv)
# has device, model, params, fits, decode_tok_s, j_per_output_token, cost_per_1k_queries;
# configurations that do not fit the device's memory are empty there and not drawn.
subtitle = ''
method = 'projected'
load scripts.'/common.gp'
set bmargin 7
projected_note = "PROJECTED, not measured: roofline x efficiencies calibrated by measurements (docs/projection.md)"
mark_projected = "set label 101 projected_note at screen 0.01, screen 0.025 left front textcolor rgb '#cc0000' font ',12'"
is(dev, i) = strcol("device") eq word(devices, i)
is_model(m, k) = strcol("model") eq word(models, k)
set key outside right top box

if (picture eq 'cost') {
    # one bar per device x model: x = device index + offset of the model
    nm = words(models)
    width = 0.8 / nm
    tics = ''
    do for [i=1:words(devices)] { tics = tics.sprintf("%s'%s' %d", i > 1 ? ', ' : '', word(devices, i), i - 1) }
    eval "set xtics (".tics.") rotate by -30 scale 0 font ',9'"
    set xrange [-0.6:words(devices) - 0.4]
    set logscale y
    set style fill solid 0.85 border -1
    set boxwidth width absolute
    set ylabel sprintf('projected cost per 1,000 queries (%s, log scale)', currency)
    set xlabel 'device'
    dev_index(d) = sum [i=1:words(devices)] (d eq word(devices, i) ? i - 1 : 0)
    do for [ext in "png svg"] {
        eval set_term
        eval mark_projected
        set title sprintf("PROJECTED cost per 1,000 queries per device and model\nworkload %s, %s, cost profile %s", workload, dtype, profile)
        plot for [k=1:nm] data using (dev_index(strcol("device")) - 0.4 + width * (k - 0.5)):(is_model(0, k) ? column("cost_per_1k_queries") : NaN) with boxes lt k title word(models, k).' (projected)'
    }
}

if (picture eq 'speed' || picture eq 'energy') {
    set logscale xy
    set xlabel 'model size (parameters, log scale)'
    set format x '%.0s%c'
    col = picture eq 'speed' ? 'decode_tok_s' : 'j_per_output_token'
    set ylabel picture eq 'speed' ? 'projected decode tokens/s (log scale)' : 'projected joules per output token (log scale)'
    do for [ext in "png svg"] {
        eval set_term
        eval mark_projected
        set title sprintf("PROJECTED %s against model size, one line per device\nworkload %s, %s", picture eq 'speed' ? 'decode tokens/s' : 'J per output token', workload, dtype)
        plot for [i=1:words(devices)] data using "params":(is(0, i) ? column(col) : NaN) with linespoints lt i dt dash(i) title word(devices, i).' (projected)'
    }
}
