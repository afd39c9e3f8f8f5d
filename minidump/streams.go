package minidump

import "fmt"

// StreamType identifies a minidump stream (MINIDUMP_STREAM_TYPE).
type StreamType uint32

// Stream types defined by Microsoft's minidumpapiset.h, and the vendor
// streams of Breakpad and Crashpad that are common in the wild.
const (
	UnusedStream              StreamType = 0
	ThreadListStream          StreamType = 3
	ModuleListStream          StreamType = 4
	MemoryListStream          StreamType = 5
	ExceptionStream           StreamType = 6
	SystemInfoStream          StreamType = 7
	ThreadExListStream        StreamType = 8
	Memory64ListStream        StreamType = 9
	CommentStreamA            StreamType = 10
	CommentStreamW            StreamType = 11
	HandleDataStream          StreamType = 12
	FunctionTableStream       StreamType = 13
	UnloadedModuleListStream  StreamType = 14
	MiscInfoStream            StreamType = 15
	MemoryInfoListStream      StreamType = 16
	ThreadInfoListStream      StreamType = 17
	HandleOperationListStream StreamType = 18
	TokenStream               StreamType = 19
	JavaScriptDataStream      StreamType = 20
	SystemMemoryInfoStream    StreamType = 21
	ProcessVmCountersStream   StreamType = 22
	IptTraceStream            StreamType = 23
	ThreadNamesStream         StreamType = 24
)

var streamNames = map[StreamType]string{
	0: "Unused", 1: "Reserved0", 2: "Reserved1",
	3: "ThreadList", 4: "ModuleList", 5: "MemoryList", 6: "Exception",
	7: "SystemInfo", 8: "ThreadExList", 9: "Memory64List", 10: "CommentA",
	11: "CommentW", 12: "HandleData", 13: "FunctionTable",
	14: "UnloadedModuleList", 15: "MiscInfo", 16: "MemoryInfoList",
	17: "ThreadInfoList", 18: "HandleOperationList", 19: "Token",
	20: "JavaScriptData", 21: "SystemMemoryInfo", 22: "ProcessVmCounters",
	23: "IptTrace", 24: "ThreadNames",
	0x8000: "ceNull", 0x8001: "ceSystemInfo", 0x8002: "ceException",
	0x8003: "ceModuleList", 0x8004: "ceProcessList", 0x8005: "ceThreadList",
	0x8006: "ceThreadContextList", 0x8007: "ceThreadCallStackList",
	0x8008: "ceMemoryVirtualList", 0x8009: "ceMemoryPhysicalList",
	0x800a: "ceBucketParameters", 0x800b: "ceProcessModuleMap", 0x800c: "ceDiagnosisList",
	0x47670001: "BreakpadInfo", 0x47670002: "BreakpadAssertionInfo",
	0x47670003: "LinuxCpuInfo", 0x47670004: "LinuxProcStatus",
	0x47670005: "LinuxLsbRelease", 0x47670006: "LinuxCmdLine",
	0x47670007: "LinuxEnviron", 0x47670008: "LinuxAuxv",
	0x47670009: "LinuxMaps", 0x4767000a: "LinuxDsoDebug",
	0x4b6b0002: "CrashpadInfo",
}

func (t StreamType) String() string {
	if s, ok := streamNames[t]; ok {
		return s
	}
	return fmt.Sprintf("0x%x", uint32(t))
}

// Known reports whether the stream type has a name.
func (t StreamType) Known() bool { _, ok := streamNames[t]; return ok }
