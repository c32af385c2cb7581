# SPDX-License-Identifier: GPL-2.0
# The bench chart: gnuplot -e "dir='RESULTS'" tests/bench/plot.gp
# Reads RESULTS/plot/*.dat (tests/bench/report.py): "label" then median min
# max for each series; writes RESULTS/bench.png.
if (!exists("dir")) dir = "."
p(f) = dir . "/plot/" . f
title = system("cat '" . dir . "/plot/title.txt'")
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 1600,2500 font "sans,10"
} else {
	set terminal png size 1600,2500
}
set output dir . "/bench.png"
set termoption noenhanced
set multiplot layout 5,2 title title font ",13"
set style data histograms
set style histogram errorbars gap 1 lw 1.5
set style fill solid 0.75 border -1
set boxwidth 0.9
set grid ytics
set yrange [0:*]
set xtics rotate by 20 right nomirror
set key top right
set bars 2

set title "1. Bulk copy, idle guest (MB/s, higher is better)"
plot p("s1.dat") using 2:3:4:xtic(1) title "copy rate" lc rgb "#4e79a7"

set title "2. fio 4k randwrite qd16 during a mirror (IOPS)"
plot p("s2.dat") using 2:3:4:xtic(1) title "during the copy" lc rgb "#f28e2b", \
     "" using 5:6:7 title "in sync / ready" lc rgb "#4e79a7"

set title "3a. writes during a backup/snapshot, 4 KiB chunks (IOPS)"
plot p("s3-4k.dat") using 2:3:4:xtic(1) title "first writes to a chunk" lc rgb "#e15759", \
     "" using 5:6:7 title "rewrites" lc rgb "#59a14f"

set title "3b. writes during a backup/snapshot, 64 KiB chunks (IOPS)"
plot p("s3-64k.dat") using 2:3:4:xtic(1) title "first writes to a chunk" lc rgb "#e15759", \
     "" using 5:6:7 title "rewrites" lc rgb "#59a14f"

set title "4. mirror time to ready under a write load (s; 0 = not ready in the limit)"
plot p("s4.dat") using 2:3:4:xtic(1) title "background" lc rgb "#f28e2b", \
     "" using 5:6:7 title "write_blocking" lc rgb "#4e79a7"

set title "5. pivot: longest guest I/O latency around the switch (ms)"
plot p("s5.dat") using 2:3:4:xtic(1) title "stall" lc rgb "#b07aa1"

set title "6. kernel memory per TiB of volume, 64 KiB granularity (MiB/TiB)"
plot p("s6.dat") using 2:3:4:xtic(1) title "at table creation" lc rgb "#76b7b2"

set title "7. 4k writes with a persistent 64 KiB bitmap vs dm-era (IOPS)"
plot p("s7.dat") using 2:3:4:xtic(1) title "first writes qd1" lc rgb "#e15759", \
     "" using 5:6:7 title "first writes qd16" lc rgb "#f28e2b", \
     "" using 8:9:10 title "rewrites qd16" lc rgb "#59a14f"

set title "2 and 3 through qemu-storage-daemon's NBD export: blockjob vs QEMU (IOPS; first pair: the export with no job in 2 / in 3)"
plot p("nbd.dat") using 2:3:4:xtic(1) title "blockjob" lc rgb "#4e79a7", \
     "" using 5:6:7 title "QEMU" lc rgb "#e15759"

unset multiplot
