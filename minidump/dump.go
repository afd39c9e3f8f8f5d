package minidump

import "github.com/remnant-forensics/remnant/pkg/addrspace"

// Dump is a process dump of either format.
type Dump interface {
	// Format names the container: "minidump" or "userdump".
	Format() string
	// Summary returns what the dump records about the process.
	Summary() *Process
	// AddressSpace reads the captured memory by virtual address.
	AddressSpace() *addrspace.Segmented
}
