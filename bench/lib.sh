# Helpers the benchmark scripts share; source it from the repository root.

# The median of the numbers on stdin, one per line ("n/a" when none).
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "n/a"; else print a[int((NR + 1) / 2)] }'; }

# a / b as "1.23x", or "n/a" unless both are positive numbers.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else print "n/a" }'; }
