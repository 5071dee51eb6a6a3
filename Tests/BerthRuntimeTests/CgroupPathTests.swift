import Testing

@testable import BerthRuntime

@Test func absoluteAndRelativeCgroupsPaths() {
  #expect(Cgroups.resolvePath("/berth/ctr", id: "x", systemd: false) == ("/berth/ctr", false))
  #expect(Cgroups.resolvePath("sub/ctr", id: "x", systemd: false) == ("sub/ctr", true))
  #expect(Cgroups.resolvePath(nil, id: "x", systemd: false) == ("x", true))
}

@Test func systemdStylePathsBecomeScopesUnderTheirSlice() {
  #expect(
    Cgroups.resolvePath("machine-libpod.slice:libpod:abc", id: "x", systemd: true).path
      == "/machine.slice/machine-libpod.slice/libpod-abc.scope")
  #expect(Cgroups.resolvePath(nil, id: "x", systemd: true).path == "/system.slice/berth-x.scope")
}

@Test func mountinfoGivesOneHierarchyPerControllerSet() {
  let mountinfo = """
    31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
    32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
    35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
    40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
    41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
    99 31 0:32 /x /mnt/again rw,relatime - cgroup cgroup rw,memory
    """
  let layout = CgroupLayout.parse(mountinfo: mountinfo)
  #expect(
    layout.hierarchies.map(\.mountPoint) == [
      "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/systemd",
      "/sys/fs/cgroup/unified",
    ])
  #expect(layout.hierarchies[0].controllers == ["cpu", "cpuacct"])
  #expect(layout.hierarchies[2].controllers == ["name=systemd"])
  #expect(!layout.isUnified)
  let unified = CgroupLayout.parse(mountinfo: "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw")
  #expect(unified.isUnified)
}

@Test func mountinfoPathsAreUnescaped() {
  let layout = CgroupLayout.parse(
    mountinfo: "50 31 0:32 /a\\040b /mnt/my\\040cg\\134x rw - cgroup cgroup rw,memory\n")
  #expect(layout.hierarchies.map(\.mountPoint) == ["/mnt/my cg\\x"])
  #expect(layout.hierarchies.map(\.mountRoot) == ["/a b"])
  #expect(layout.hierarchies.map(\.controllers) == [["memory"]])
}
