# machines.gp — pictures 7 to 9, drawn when the results hold several machines: one metric of
# each model (x: the models in ladder order, smallest first), one line per machine (machine/series
# when the series differ), log y. The same script draws each picture with its own variables.
# Variables beyond common.gp's: lines (words: line i is word(lines, i)), models (words, in ladder
# order: model_rank k is word(models, k + 1)), metric (the column of data/machines.csv plotted),
# what (its name in the title), ylabel, energy (1 when the metric depends on the energy measured:
# estimated energy is then marked), profile (the cost profile), workload.
load scripts.'/common.gp'
set logscale y
set xrange [-0.5:words(models) - 0.5]
tics = ''
do for [k=1:words(models)] { tics = tics.sprintf("%s'%s' %d", k > 1 ? ', ' : '', word(models, k), k - 1) }
eval "set xtics (".tics.") rotate by -30 scale 0 font ',9'"
set xlabel 'model (smallest first)'
set ylabel ylabel
set bmargin 9
set key outside right top box
in_line(i) = strcol("line") eq word(lines, i)
do for [ext in "png svg"] {
    eval set_term
    if (energy) { eval mark_energy }
    set title sprintf("%s per model across machines, workload %s%s\n%s", what, workload, metric eq 'cost_per_1k_queries' ? ', cost profile '.profile : '', subtitle)
    plot for [i=1:words(lines)] data using "model_rank":(in_line(i) ? column(metric) : NaN) with linespoints lt i dt dash(i) title word(lines, i)
}
