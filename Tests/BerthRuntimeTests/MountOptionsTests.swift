import BerthSystem
import Glibc
import Testing

@Test func flagsPropagationAndDataAreSeparated() {
  let o = MountOptions.parse(["rbind", "ro", "nosuid", "rslave", "size=64k", "mode=755"])
  #expect(o.isBind && o.isRecursive)
  #expect(o.flags == UInt(MS_RDONLY | MS_NOSUID))
  #expect(o.propagation == UInt(MS_SLAVE | MS_REC))
  #expect(o.dataString == "size=64k,mode=755")
}

@Test func laterOptionsWinAndClearEarlierOnes() {
  let o = MountOptions.parse(["ro", "rw", "noexec", "exec", "nodev"])
  #expect(o.flags == UInt(MS_NODEV))
  #expect(o.clearedFlags & UInt(MS_RDONLY) != 0)
}

@Test func runtimeExtensionsAreNotPassedToTheKernel() {
  let o = MountOptions.parse(["tmpcopyup", "idmap", "defaults"])
  #expect(o.extensions == ["tmpcopyup", "idmap"])
  #expect(o.data.isEmpty)
}
