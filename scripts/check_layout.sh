#!/bin/bash
# The include rule (ARCHITECTURE.md "Rules that keep it navigable"): popek's
# floors, top down, are main -> api -> vmm -> {cpu, boot, acpi, dev, virtio}
# -> host -> core, with include/popek under all of them. A file may include
# project headers from its own folder and from the floors below it, never
# from above or from a sibling on its floor. Prints "PASS layout/FOLDER" or
# "FAIL layout/FOLDER: file includes header" for each folder.
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
exit $status
