#!/bin/bash
# The include rule (ARCHITECTURE.md "Rules that keep it navigable"): popek's
# floors, top down, are main -> api -> vmm -> {cpu, boot, acpi, dev, virtio}
# -> host -> core, with include/popek under all of them. A file may include
# project headers from its own folder and from the floors below it, never
# from above or from a sibling on its floor. Prints "PASS layout/FOLDER" or
# "FAIL layout/FOLDER: file includes header" for each folder; then the rule
# between the soft engine's parts inside src/cpu/soft/ (below).
set -u
cd "$(dirname "$0")/.."

allowed() { # folder: the header folders it may include
	case $1 in
	core) echo "core popek" ;;
	host) echo "host core popek" ;;
	dev) echo "dev host core popek" ;;
	virtio) echo "virtio host core popek" ;;
	cpu) echo "cpu host core popek" ;;
	boot) echo "boot host core popek" ;;
	acpi) echo "acpi host core popek" ;;
	vmm) echo "vmm cpu boot acpi dev virtio host core popek" ;;
	api) echo "api vmm cpu boot acpi dev virtio host core popek" ;;
	esac
}

status=0
for dir in core host dev virtio cpu boot acpi vmm api; do
	bad=$(grep -rHoE '^#include "[a-z]+/' "src/$dir" --include='*.c' --include='*.h' |
		sed -E 's|^(.*):#include "([a-z]+)/|\1 \2|' |
		while read -r file top; do
			case " $(allowed "$dir") " in
			*" $top "*) ;;
			*) echo "$file includes $top/" ;;
			esac
		done)
	if [ -n "$bad" ]; then
		echo "FAIL layout/$dir: $(echo "$bad" | head -3 | paste -sd ';' -)"
		status=1
	else
		echo "PASS layout/$dir"
	fi
done

# The soft engine's parts (ARCHITECTURE.md, "The soft engine"): a file in
# src/cpu/soft/PART/ may include the headers of its own folder, the top-level
# src/cpu/soft/*.h (the engine's contracts: cpu.h, vm.h, vendor.h, profile.h)
# and, of another part, only that part's contract header listed here. A
# top-level file may include the top-level headers and the contract headers.
# cpu.h embeds the software TLB in the vCPU, so it alone also includes
# mmu/tlb.h. Prints "PASS layout/cpu/soft/PART" or "FAIL ...: file includes
# header" for each part and for the top level.
soft=src/cpu/soft
soft_parts="decode exec fpu irqchip jit mmu pv sys"
soft_contract() { # part: its contract header, from src/
	echo "cpu/soft/$1/$1.h"
}
soft_exception() { # file header: an include the rule allows by name
	[ "$1 $2" = "$soft/cpu.h cpu/soft/mmu/tlb.h" ]
}

for part in $(find "$soft" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort); do
	case " $soft_parts " in
	*" $part "*) ;;
	*) echo "FAIL layout/cpu/soft/$part: not a known part (list it and its contract in scripts/check_layout.sh)"
	   status=1 ;;
	esac
done
for part in $soft_parts; do
	if [ ! -f "src/$(soft_contract "$part")" ]; then
		echo "FAIL layout/cpu/soft/$part: contract header src/$(soft_contract "$part") missing"
		status=1
	fi
done

for part in . $soft_parts; do
	if [ "$part" = . ]; then
		name=cpu/soft
		files=$(find "$soft" -maxdepth 1 -name '*.[ch]')
	else
		name=cpu/soft/$part
		files=$(find "$soft/$part" -name '*.[ch]')
	fi
	bad=$(for file in $files; do
		grep -oE '^#include "cpu/soft/[^"]+"' "$file" | sed -E 's|^#include "(.*)"|\1|' |
			while read -r hdr; do
				rest=${hdr#cpu/soft/}
				case $rest in
				*/*) ;;                          # a part's header
				*) continue ;;                   # top-level contract
				esac
				[ "${rest%%/*}" = "$part" ] && continue  # own folder
				for other in $soft_parts; do
					[ "$hdr" = "$(soft_contract "$other")" ] && continue 2
				done
				soft_exception "$file" "$hdr" && continue
				echo "$file includes $hdr"
			done
	done)
	if [ -n "$bad" ]; then
		echo "FAIL layout/$name: $(echo "$bad" | head -3 | paste -sd ';' -)"
		status=1
	else
		echo "PASS layout/$name"
	fi
done
exit $status
