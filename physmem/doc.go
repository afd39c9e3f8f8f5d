// Package physmem reads physical memory images of Windows machines: raw
// images (dd, .raw, .mem, .vmem), Windows kernel crash dumps (PAGEDUMP and
// PAGEDU64, full and bitmap) and LiME files, detected by content.
//
// An Image gives a physical view (the bytes by physical address and the
// ranges that hold data), translates virtual addresses through x86, PAE and
// x64 page tables, finds the kernel without symbol files (processor start
// block, self-referencing page directory, the System process, KDBG,
// KUSER_SHARED_DATA, the kernel's PE header and PDB record), and lists
// processes from ActiveProcessLinks and from a pool-tag scan. Each process
// has an addrspace.AddressSpace built from its page tables, on which the
// user-mode structure walkers of pkg/win run.
//
// Evidence is untrusted: every count and pointer is bounded by the image,
// list walks stop on a revisit or a limit, and a failed translation is "not
// present", never fatal. Problems are returned as Warnings beside partial
// results.
package physmem
