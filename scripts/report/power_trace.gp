# power_trace.gp — picture 4: power over time for one repetition of each configuration of the
# report's workload, laid end to end, with the prefill and decode phases shaded (power.csv:
# the total of the summed domains, one sample per sampling interval).
# Variables beyond common.gp's: segments (CSV: one row per configuration, where its run starts
# on the time axis), ymax (W), workload.
load scripts.'/common.gp'
set xlabel 'time, repetitions laid end to end (s)'
set ylabel 'power, all measured domains (W)'
set yrange [0:ymax]
set key top right box opaque
set style fill transparent solid 0.35 noborder
phase_is(p) = strcol("phase") eq p
do for [ext in "png svg"] {
    eval set_term
    eval mark_energy
    set title sprintf("Power during the runs, workload %s (one repetition per configuration)\n%s", workload, subtitle)
    plot data using "t_mid_s":(phase_is("prefill") ? ymax : NaN):"width_s" with boxes lc rgb '#f4a582' title 'prefill', \
         data using "t_mid_s":(phase_is("decode") ? ymax : NaN):"width_s" with boxes lc rgb '#92c5de' title 'decode', \
         data using "t_s":"watts" with fsteps lc rgb '#222222' lw 1.5 title 'power', \
         segments using "t_start_s":(ymax):(0):(-ymax) with vectors nohead lc rgb '#888888' dt 3 notitle, \
         segments using "t_start_s":(ymax * (0.97 - 0.45 * (int(column(0)) % 2))):"label" with labels left rotate by -90 offset char 0.4,0 font ',8' notitle
}
