# SPDX-License-Identifier: GPL-2.0
# A CSV with a header line (no quoted commas) as a JSON array of objects: numbers stay numbers,
# everything else becomes a string. Usage: awk -F, -f scripts/csv-to-json.awk file.csv
NR == 1 {
	for (i = 1; i <= NF; i++)
		key[i] = $i
	printf "["
	next
}
{
	printf "%s\n  {", (NR > 2 ? "," : "")
	for (i = 1; i <= NF; i++) {
		v = $i
		if (v !~ /^-?[0-9]+(\.[0-9]+)?$/) {
			gsub(/\\/, "\\\\", v)
			gsub(/"/, "\\\"", v)
			v = "\"" v "\""
		}
		printf "%s\"%s\": %s", (i > 1 ? ", " : ""), key[i], v
	}
	printf "}"
}
END {
	print (NR > 1 ? "\n]" : "]")
}
