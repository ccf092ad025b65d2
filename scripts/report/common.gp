# common.gp — the look every picture of `joulebench report` shares, loaded first by each
# script. joulebench sets these variables before the script runs (gnuplot -e):
#   scripts   this folder          data      the CSV the picture plots (relative to the
#   outbase   picture base name              report folder, where gnuplot runs)
#   subtitle  machine · energy method · date of the runs
#   method    measured, integrated, estimated or none (the weakest energy method shown)
# Each script draws its picture twice, as outbase.png and outbase.svg:
#   do for [ext in "png svg"] { eval set_term; ...plot... }
set datafile separator comma
set datafile columnheaders
set termoption noenhanced
set encoding utf8
set grid lc rgb '#dddddd'
set border lc rgb '#444444'
set key noautotitle
set bmargin 6

set_term = "if (ext eq 'png') { set terminal pngcairo size 1100,680 noenhanced font 'DejaVu Sans,10' } else { set terminal svg size 1100,680 dynamic noenhanced font 'DejaVu Sans,11' background rgb 'white' }; set output outbase.'.'.ext"

# Estimated energy is marked on every energy picture, in red, where it cannot be missed.
energy_note = method eq 'estimated' ? "ESTIMATED ENERGY: a model of this CPU's power, not a meter reading" : method eq 'integrated' ? "energy integrated from power samples (not an energy counter)" : method eq 'none' ? "energy not measured" : ""
energy_colour = method eq 'measured' ? '#444444' : method eq 'integrated' ? '#b35900' : '#cc0000'
mark_energy = "set label 100 energy_note at screen 0.01, screen 0.025 left front textcolor rgb energy_colour font ',12'"

# One colour per line, the same in every picture.
set linetype 1 lc rgb '#1b9e77' lw 2 pt 7 ps 1.2
set linetype 2 lc rgb '#d95f02' lw 2 pt 5 ps 1.2
set linetype 3 lc rgb '#7570b3' lw 2 pt 9 ps 1.3
set linetype 4 lc rgb '#e7298a' lw 2 pt 11 ps 1.3
set linetype 5 lc rgb '#66a61e' lw 2 pt 13 ps 1.3
set linetype 6 lc rgb '#e6ab02' lw 2 pt 15 ps 1.2
set linetype 7 lc rgb '#a6761d' lw 2 pt 7 ps 1.2
set linetype 8 lc rgb '#666666' lw 2 pt 5 ps 1.2
set linetype 9 lc rgb '#1f78b4' lw 2 pt 9 ps 1.3
set linetype 10 lc rgb '#b2182b' lw 2 pt 11 ps 1.3
set linetype 11 lc rgb '#35978f' lw 2 pt 13 ps 1.3
set linetype 12 lc rgb '#000000' lw 2 pt 15 ps 1.2
set linetype cycle 12
# beyond 12 lines the colours repeat: scripts dash the repeats (dt dash(i))
dash(i) = 1 + int((i - 1) / 12)
