package physmem

// kernel is what was found about the running kernel, and how.
type kernel struct {
	mode   Mode
	dtb    uint64
	dtbHow string
}

// discover finds the kernel's paging mode and page tables.
func (im *Image) discover() {
	if h := im.crash; h != nil {
		im.k.dtb, im.k.dtbHow = h.DirectoryTableBase, "crash dump header"
		switch {
		case h.MachineImageType == MachineAMD64 || h.Is64:
			im.k.mode = ModeX64
		case h.PaeEnabled:
			im.k.mode = ModePAE
		default:
			im.k.mode = ModeX86
		}
	}
}
