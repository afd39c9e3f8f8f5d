package physmem

import (
	"fmt"
	"time"
)

// Info summarizes an image and what the kernel search found; each *How
// field says how the value beside it was established (empty when not).
type Info struct {
	Format       string `json:"format"`
	FileSize     int64  `json:"file_size"`
	PhysicalData uint64 `json:"physical_data"` // bytes of physical memory the image holds
	PhysicalEnd  uint64 `json:"physical_end"`  // first physical address past the last held byte
	Runs         int    `json:"runs"`

	Arch   string `json:"arch"`   // "x86" or "x64"
	Paging string `json:"paging"` // "x86", "x86-pae", "x64"
	DTB    uint64 `json:"dtb"`
	DTBHow string `json:"dtb_how"`

	OS         string `json:"os"`
	Major      uint32 `json:"major"`
	Minor      uint32 `json:"minor"`
	Build      uint32 `json:"build"`
	VersionHow string `json:"version_how"`
	Layout     string `json:"layout"`
	LayoutHow  string `json:"layout_how"`

	KernelBase uint64 `json:"kernel_base"`
	KernelHow  string `json:"kernel_how"`
	KernelPDB  string `json:"kernel_pdb,omitempty"` // name
	KernelGUID string `json:"kernel_guid,omitempty"`
	KernelAge  uint32 `json:"kernel_age,omitempty"`

	KDBG     uint64 `json:"kdbg"`      // virtual address (0 when found only physically)
	KDBGPhys uint64 `json:"kdbg_phys"` // physical address, when found by a physical scan
	KDBGHow  string `json:"kdbg_how"`

	PsActiveProcessHead uint64 `json:"ps_active_process_head"`
	PsLoadedModuleList  uint64 `json:"ps_loaded_module_list"`
	ListHow             string `json:"list_how"`
	SystemProcess       uint64 `json:"system_process"`
	SystemHow           string `json:"system_how"`

	Processors    uint32        `json:"processors"`
	ProcessorsHow string        `json:"processors_how"`
	Time          time.Time     `json:"time"` // capture time, UTC
	TimeHow       string        `json:"time_how"`
	TimeZoneBias  time.Duration `json:"time_zone_bias"` // UTC minus local time
	SystemRoot    string        `json:"system_root"`

	Crash *CrashHeader `json:"crash,omitempty"`
}

// Info returns the summary of the image.
func (im *Image) Info() Info {
	k := &im.k
	in := Info{
		Format: im.format.String(), FileSize: im.size, PhysicalEnd: im.ph.end(), Runs: len(im.ph.runs),
		Paging: k.mode.String(), DTB: k.dtb, DTBHow: k.dtbHow,
		Major: k.major, Minor: k.minor, Build: k.build, VersionHow: k.verHow, LayoutHow: k.layoutHow,
		KernelBase: k.base, KernelHow: k.baseHow, KDBG: k.kdbg, KDBGPhys: k.kdbgPA, KDBGHow: k.kdbgHow,
		PsActiveProcessHead: k.psHead, PsLoadedModuleList: k.psModules, ListHow: k.psHeadHow,
		SystemProcess: k.system, SystemHow: k.systemHow,
		Processors: k.processors, ProcessorsHow: k.procHow, Time: k.time, TimeHow: k.timeHow,
		TimeZoneBias: k.tzBias, SystemRoot: k.systemRoot, Crash: im.crash,
	}
	for _, r := range im.ph.runs {
		in.PhysicalData += r.Size
	}
	switch k.mode {
	case ModeX64:
		in.Arch = "x64"
	case ModeX86, ModePAE:
		in.Arch = "x86"
	}
	if k.layout != nil {
		in.Layout = k.layout.String()
	}
	if k.pe != nil && k.pe.PDB != nil {
		in.KernelPDB, in.KernelGUID, in.KernelAge = k.pe.PDB.Path, k.pe.PDB.GUID, k.pe.PDB.Age
	}
	in.OS = osName(k.major, k.minor, k.build)
	return in
}

// osName names a Windows version from its numbers.
func osName(major, minor, build uint32) string {
	if major == 0 {
		return ""
	}
	name := ""
	switch {
	case major == 5 && minor == 0:
		name = "Windows 2000"
	case major == 5 && minor == 1:
		name = "Windows XP"
	case major == 5 && minor == 2:
		name = "Windows XP x64 / Server 2003"
	case major == 6 && minor == 0:
		name = "Windows Vista / Server 2008"
	case major == 6 && minor == 1:
		name = "Windows 7 / Server 2008 R2"
	case major == 6 && minor == 2:
		name = "Windows 8 / Server 2012"
	case major == 6 && minor == 3:
		name = "Windows 8.1 / Server 2012 R2"
	case major == 10 && build >= 22000:
		name = "Windows 11"
	case major == 10:
		name = "Windows 10 / Server 2016+"
	default:
		name = "Windows"
	}
	if build != 0 {
		return fmt.Sprintf("%s (%d.%d.%d)", name, major, minor, build)
	}
	return fmt.Sprintf("%s (%d.%d)", name, major, minor)
}
