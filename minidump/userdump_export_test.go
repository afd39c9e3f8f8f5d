package minidump

// UserDumpFromMinidump rewrites a minidump's threads, modules and captured
// memory as a userdump with the test writer, for tests outside the package
// that need a userdump holding real process memory.
func UserDumpFromMinidump(f *File) []byte {
	d := &udTestDump{is64: f.Arch.PointerSize() == 8, major: 5, minor: 1, machine: 0x14c, ctxSize: 0x2cc,
		order: []string{"state", "ctx", "mod", "mbi", "data"}}
	if d.is64 {
		d.machine, d.ctxSize = 0x8664, 0x4d0
	}
	for _, t := range f.Threads {
		d.threads = append(d.threads, udTestThread{id: t.ID, suspend: t.SuspendCount, prioClass: t.PriorityClass, prio: t.Priority, teb: t.TEB})
	}
	for _, m := range f.Modules {
		d.modules = append(d.modules, udTestModule{base: m.Base, size: m.Size, name: append([]byte(m.Name), 0)})
	}
	as := f.AddressSpace()
	for _, s := range as.Segments() {
		data := make([]byte, s.Size)
		as.ReadAt(data, s.VA)
		d.regions = append(d.regions, udTestRegion{base: s.VA, allocBase: s.VA, allocProtect: 0x04, size: s.Size,
			state: 0x1000, protect: 0x04, typ: 0x20000, data: data})
	}
	return d.build().file
}
