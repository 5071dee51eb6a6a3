import BerthTestSupport
import Foundation
import Testing

@Suite(
  "berth container lifecycle", .enabled(if: EngineEnvironment.ready, EngineEnvironment.skipReason))
struct LifecycleTests {
  @Test func aDetachedContainerIsListedLoggedExecedStoppedAndRemoved() {
    let box = EngineSandbox("life")
    defer { box.finish() }
    let run = box.berth([
      "run", "-d", "--name", "ticker", "--label", "role=test", "busybox", "sh", "-c",
      "trap 'echo bye; exit 3' TERM; echo started; while true; do sleep 0.1; done",
    ])
    #expect(run.status == 0, "\(run.combined)")
    let id = run.stdout.trimmed
    #expect(id.count == 64)
    #expect(box.eventually { box.berth(["logs", "ticker"]).stdout == "started\n" })
    #expect(
      box.berth(["ps", "--format", "{{.Names}} {{.State}} {{.Labels}}"]).stdout
        == "ticker running map[role:test]\n")
    #expect(box.berth(["ps", "-q"]).stdout == String(id.prefix(12)) + "\n")
    #expect(
      box.berth(["ps", "-q", "--no-trunc", "--filter", "label=role=test"]).stdout == id + "\n")
    #expect(box.berth(["ps", "-q", "--filter", "name=nothing"]).stdout.isEmpty)
    #expect(
      box.berth([
        "inspect", "--format", "{{.State.Status}} {{.Name}} {{.Config.Labels.role}}", "ticker",
      ]).stdout == "running ticker test\n")
    let exec = box.berth([
      "exec", "-e", "X=1", "-w", "/etc", "ticker", "sh", "-c", "echo $X $(pwd); exit 4",
    ])
    #expect(exec.status == 4)
    #expect(exec.stdout == "1 /etc\n")
    #expect(box.berth(["exec", "ticker", "nope"]).status == 127)
    let removeRunning = box.berth(["rm", "ticker"])
    #expect(removeRunning.status == 125)
    #expect(removeRunning.stderr.contains("is running"))
    let start = box.berth(["start", "ticker"])
    #expect(start.status == 125)
    #expect(start.stderr.contains("already running"))
    #expect(box.berth(["stop", "ticker"]).stdout == "ticker\n")
    #expect(box.berth(["logs", "ticker"]).stdout == "started\nbye\n")
    #expect(box.berth(["ps", "-a", "--format", "{{.Status}}"]).stdout.hasPrefix("Exited (3)"))
    #expect(box.berth(["wait", "ticker"]).stdout == "3\n")
    let execStopped = box.berth(["exec", "ticker", "true"])
    #expect(execStopped.status == 125)
    #expect(execStopped.stderr.contains("not running"))
    // Started again, it logs on after the first run.
    #expect(box.berth(["start", "ticker"]).status == 0)
    #expect(box.eventually { box.berth(["logs", "ticker"]).stdout == "started\nbye\nstarted\n" })
    #expect(box.berth(["restart", "-t", "5", "ticker"]).status == 0)
    #expect(box.berth(["pause", "ticker"]).status == 0)
    #expect(box.berth(["ps", "--format", "{{.State}}"]).stdout == "paused\n")
    #expect(box.berth(["unpause", "ticker"]).status == 0)
    #expect(box.berth(["rename", "ticker", "tocker"]).status == 0)
    #expect(box.berth(["rm", "-f", "tocker"]).stdout == id + "\n")
  }

  @Test func logsTailTimestampsAndFollow() {
    let box = EngineSandbox("logs")
    defer { box.finish() }
    let id = box.berth([
      "run", "-d", "busybox", "sh", "-c",
      "for i in 1 2 3 4 5; do echo line $i; done; sleep 1; echo last",
    ]).stdout.trimmed
    // -f returns once the container has exited, with everything.
    let followed = box.berth(["logs", "-f", id])
    #expect(followed.stdout == "line 1\nline 2\nline 3\nline 4\nline 5\nlast\n")
    #expect(box.berth(["logs", "--tail", "2", id]).stdout == "line 5\nlast\n")
    let stamped = box.berth(["logs", "-t", "--tail", "1", id]).stdout
    #expect(stamped.hasSuffix(" last\n"))
    #expect(stamped.hasPrefix("20"))
    #expect(box.berth(["logs", "--until", "2000-01-01T00:00:00Z", id]).stdout.isEmpty)
    #expect(box.berth(["logs", "--since", "1h", id]).stdout.hasSuffix("last\n"))
  }

  @Test func restartOnFailureTriesThreeTimesThenStops() {
    let box = EngineSandbox("restart")
    defer { box.finish() }
    let id = box.berth([
      "run", "-d", "--restart", "on-failure:3", "busybox", "sh", "-c", "echo try; exit 2",
    ]).stdout.trimmed
    #expect(box.berth(["wait", id]).stdout == "2\n")
    #expect(
      box.eventually {
        box.berth(["inspect", "--format", "{{.RestartCount}} {{.State.Status}}", id]).stdout
          == "3 exited\n"
      })
    #expect(box.berth(["logs", id]).stdout == "try\ntry\ntry\ntry\n")
  }

  @Test func stopDuringARestartBackOffEndsTheContainerWithoutAnotherRestart() {
    let box = EngineSandbox("backoff")
    defer { box.finish() }
    let id = box.berth([
      "run", "-d", "--restart", "always", "--network", "none", "busybox", "sh", "-c", "exit 1",
    ]).stdout.trimmed
    // Five quick failures: the sixth restart is then 3.2 s away.
    #expect(
      box.eventually(20) {
        (Int(box.berth(["inspect", "--format", "{{.RestartCount}}", id]).stdout.trimmed) ?? 0) >= 5
      })
    let before = box.berth(["inspect", "--format", "{{.RestartCount}}", id]).stdout
    #expect(box.berth(["stop", "-t", "1", id]).status == 0)
    // Past the time the next restart was due, nothing has restarted it.
    sleep(4)
    #expect(
      box.berth(["inspect", "--format", "{{.State.Status}} {{.RestartCount}}", id]).stdout
        == "exited " + before)
    #expect(box.monitorPids().isEmpty)
  }

  @Test func aFailingHealthCheckTurnsTheContainerUnhealthyAndBack() {
    let box = EngineSandbox("health")
    defer { box.finish() }
    let id = box.berth([
      "run", "-d", "--health-cmd", "test -f /tmp/ok", "--health-interval", "200ms",
      "--health-retries", "2",
      "busybox", "sleep", "60",
    ]).stdout.trimmed
    #expect(
      box.eventually {
        box.berth(["inspect", "--format", "{{.State.Health.Status}}", id]).stdout == "unhealthy\n"
      })
    #expect(box.berth(["ps", "--format", "{{.Status}}"]).stdout.contains("(unhealthy)"))
    #expect(box.berth(["exec", id, "touch", "/tmp/ok"]).status == 0)
    #expect(
      box.eventually {
        box.berth(["inspect", "--format", "{{.State.Health.Status}}", id]).stdout == "healthy\n"
      })
    #expect(box.berth(["wait", "--condition", "healthy", id]).status == 0)
  }

  @Test func sixteenConcurrentRunsAllSucceed() async {
    let box = EngineSandbox("many")
    defer { box.finish() }
    let results = await withTaskGroup(of: Output.self) { group in
      for index in 0..<16 {
        group.addTask { box.berth(["run", "--rm", "busybox", "echo", "n\(index)"]) }
      }
      var all: [Output] = []
      for await result in group { all.append(result) }
      return all
    }
    #expect(
      results.allSatisfy { $0.status == 0 }, "\(results.filter { $0.status != 0 }.map(\.combined))")
    #expect(Set(results.map(\.stdout)).count == 16)
  }

  @Test func killingTheMonitorLeavesAnExitedContainerThatRmCleansUp() {
    let box = EngineSandbox("crash")
    defer { box.finish() }
    let id = box.berth(["run", "-d", "busybox", "sleep", "60"]).stdout.trimmed
    let monitors = box.monitorPids()
    #expect(monitors.count == 1)
    for pid in monitors { kill(pid, SIGKILL) }
    #expect(
      box.eventually { box.berth(["ps", "-a", "--format", "{{.State}}"]).stdout == "exited\n" })
    #expect(box.berth(["inspect", "--format", "{{.State.Error}}", id]).stdout.contains("monitor"))
    #expect(box.berth(["rm", id]).status == 0)
    #expect(box.berth(["run", "--rm", "busybox", "true"]).status == 0)
  }

  @Test func killingTheForegroundCLILeavesTheContainerRunning() {
    let box = EngineSandbox("cli")
    defer { box.finish() }
    let out = sh([
      "bash", "-c",
      "\(box.command) run --name fg busybox sleep 60 & p=$!; sleep 1; kill -9 $p; wait $p; echo $?",
    ])
    #expect(out.stdout == "137\n")
    #expect(box.berth(["ps", "--format", "{{.Names}} {{.State}}"]).stdout == "fg running\n")
    #expect(box.berth(["stop", "-t", "1", "fg"]).status == 0)
    #expect(box.berth(["rm", "fg"]).status == 0)
  }
  @Test func aStartKilledBeforeItRecordedTheRunIsAdoptedFromTheMonitor() {
    let box = EngineSandbox("adopt")
    defer { box.finish() }
    let id = box.berth(["run", "-d", "busybox", "sleep", "60"]).stdout.trimmed
    #expect(!id.isEmpty)
    // What a `berth start` killed between spawning the monitor and writing
    // the row leaves: the row still says created, the monitor runs it.
    let reset = sh([
      "sqlite3", box.root + "/berth.db",
      "UPDATE container SET state = 'created', pid = 0, startedAt = NULL WHERE id = '\(id)'",
    ])
    #expect(reset.status == 0, "\(reset.combined)")
    #expect(box.berth(["ps", "--format", "{{.State}}"]).stdout == "running\n")
    #expect(box.berth(["stop", "-t", "0", id]).status == 0)
    #expect(box.berth(["ps", "-a", "--format", "{{.State}}"]).stdout == "exited\n")
  }
}
