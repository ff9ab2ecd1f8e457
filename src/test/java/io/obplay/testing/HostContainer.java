package io.obplay.testing;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import com.github.dockerjava.api.model.Capability;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * One real test host: a {@link TestHosts#HOST_IMAGE} container running OpenSSH, where tests start
 * stand-in observers/obproxies ({@code standin.py}) and obplay stops and kills them over SSH.
 *
 * <p>PID 1 is {@code /usr/local/bin/obplay-host-init} (not the image's plain {@code sshd -D}):
 * it gives each container its own host key, reaps killed stand-ins, and keeps the host up when
 * {@link #stopSshd()} takes sshd down. Log in as {@code admin} or {@code root} with
 * {@link TestHosts#keyFile()}, at {@link #host()}:{@link #sshPort()}, trusting
 * {@link #knownHostsLine()}.
 *
 * <pre>{@code
 * try (HostContainer h = new HostContainer().start()) {
 *     int pid = h.startStandin("/home/admin/zone1-a", "observer", List.of(2881, 2882), false);
 *     ... run obplay against admin@h.host():h.sshPort() ...
 *     assertFalse(h.isAlive(pid));
 * }
 * }</pre>
 */
public class HostContainer implements AutoCloseable {

    public static final String INIT = "/usr/local/bin/obplay-host-init";
    private static final String HOST_KEY_PUB = "/etc/ssh/ssh_host_ed25519_key.pub";

    private final GenericContainer<?> container;

    public HostContainer() {
        this(TestHosts.HOST_IMAGE);
    }

    @SuppressWarnings("resource")
    public HostContainer(String image) {
        this.container = new GenericContainer<>(DockerImageName.parse(image))
                .withExposedPorts(22)
                .withCommand(INIT)
                // root on a real host reads /proc/<pid>/cwd and `ss -p` of other users' processes;
                // in a container that takes CAP_SYS_PTRACE (not in Docker's default set)
                .withCreateContainerCmdModifier(cmd -> cmd.getHostConfig().withCapAdd(Capability.SYS_PTRACE))
                .waitingFor(Wait.forListeningPort().withStartupTimeout(Duration.ofSeconds(60)));
    }

    /** Starts the container; returns once sshd listens. */
    public HostContainer start() {
        container.start();
        return this;
    }

    /** The underlying Testcontainers container, for anything not wrapped here. */
    public GenericContainer<?> container() {
        return container;
    }

    /** Host name to reach the mapped SSH port ({@code localhost} with TESTCONTAINERS_HOST_OVERRIDE). */
    public String host() {
        return container.getHost();
    }

    /** The host-side port mapped to the container's port 22. */
    public int sshPort() {
        return container.getMappedPort(22);
    }

    /** The container's own address on Docker's bridge (reachable from this machine, port 22). */
    public String ipAddress() {
        return container.getContainerInfo().getNetworkSettings().getIpAddress();
    }

    public String containerId() {
        return container.getContainerId();
    }

    // ------------------------------------------------------------------------------------------
    // docker exec

    /** Runs a command in the container as root (docker exec, not SSH). */
    public ExecResult exec(String... cmd) {
        try {
            return container.execInContainer(cmd);
        } catch (IOException e) {
            throw new IllegalStateException("docker exec " + String.join(" ", cmd) + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: docker exec " + String.join(" ", cmd), e);
        }
    }

    /** Runs a command in the container as {@code user} (docker exec -u). */
    public ExecResult execAs(String user, String... cmd) {
        try {
            return container.execInContainerWithUser(user, cmd);
        } catch (IOException e) {
            throw new IllegalStateException("docker exec -u " + user + " " + String.join(" ", cmd) + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: docker exec " + String.join(" ", cmd), e);
        }
    }

    /** {@code sh -c script} as root. */
    public ExecResult sh(String script) {
        return exec("sh", "-c", script);
    }

    /** {@link #exec} that must succeed; returns its stdout. */
    public String execOk(String... cmd) {
        ExecResult r = exec(cmd);
        if (r.getExitCode() != 0) {
            throw new IllegalStateException("in " + containerId().substring(0, 12) + ": "
                    + String.join(" ", cmd) + " -> exit " + r.getExitCode() + ": " + r.getStderr().strip());
        }
        return r.getStdout();
    }

    // ------------------------------------------------------------------------------------------
    // stand-in servers

    /**
     * Starts {@code standin.py serve} as {@code admin}: home {@code home} (created, owned by admin),
     * pid file {@code run/<name>.pid}, listening on {@code ports} on 0.0.0.0. Returns its pid once
     * the pid file is written and every port listens.
     */
    public int startStandin(String home, String name, List<Integer> ports, boolean ignoreTerm) {
        return startStandin(TestHosts.CONTAINER_USER, home, name, "run/" + name + ".pid", ports, ignoreTerm);
    }

    /** As {@link #startStandin(String, String, List, boolean)} with the user and pid file given. */
    public int startStandin(String user, String home, String name, String pidFile, List<Integer> ports,
                            boolean ignoreTerm) {
        prepareHome(user, home);
        List<String> cmd = new ArrayList<>(List.of("python3", TestHosts.CONTAINER_STANDIN, "serve",
                "--home", home, "--name", name, "--pidfile", pidFile, "--ports", joinPorts(ports)));
        if (ignoreTerm) {
            cmd.add("--ignore-term");
        }
        runStandin(user, cmd);
        return pidOrFail(absolute(home, pidFile));
    }

    /**
     * Starts a stand-in obproxy under OBD's layout: the watchdog {@code obproxyd} (pid file
     * {@code run/obproxyd-<ip>-<listenPort>.pid}) which starts and respawns {@code obproxy} (pid file
     * {@code run/obproxy-<ip>-<listenPort>.pid}). Returns {watchdog pid, obproxy pid}.
     */
    public int[] startObproxyWithWatchdog(String home, String ip, int listenPort, int prometheusPort) {
        String user = TestHosts.CONTAINER_USER;
        prepareHome(user, home);
        String daemonPid = "run/obproxyd-" + ip + "-" + listenPort + ".pid";
        String childPid = "run/obproxy-" + ip + "-" + listenPort + ".pid";
        runStandin(user, List.of("python3", TestHosts.CONTAINER_STANDIN, "watchdog",
                "--home", home, "--pidfile", daemonPid, "--child-pidfile", childPid, "--",
                "--home", home, "--name", "obproxy", "--pidfile", childPid,
                "--ports", listenPort + "," + prometheusPort));
        return new int[] {pidOrFail(absolute(home, daemonPid)), pidOrFail(absolute(home, childPid))};
    }

    private void prepareHome(String user, String home) {
        if (!home.startsWith("/")) {
            throw new IllegalArgumentException("home must be absolute: " + home);
        }
        execOk("install", "-d", "-o", user, "-g", user, home);
    }

    private void runStandin(String user, List<String> cmd) {
        ExecResult r = execAs(user, cmd.toArray(String[]::new));
        if (r.getExitCode() != 0) {
            throw new IllegalStateException("standin failed (exit " + r.getExitCode() + "): "
                    + r.getStderr().strip() + " " + r.getStdout().strip());
        }
    }

    private int pidOrFail(String pidFile) {
        Integer pid = readPid(pidFile);
        if (pid == null) {
            throw new IllegalStateException("no pid in " + pidFile + " after the stand-in started");
        }
        return pid;
    }

    private static String absolute(String home, String path) {
        return path.startsWith("/") ? path : home + "/" + path;
    }

    private static String joinPorts(List<Integer> ports) {
        return ports.stream().map(String::valueOf).collect(Collectors.joining(","));
    }

    // ------------------------------------------------------------------------------------------
    // processes and ports in the container

    /** True if the process exists in the container and is not a zombie. */
    public boolean isAlive(int pid) {
        ExecResult r = exec("ps", "-o", "stat=", "-p", Integer.toString(pid));
        String stat = r.getStdout().strip();
        return r.getExitCode() == 0 && !stat.isEmpty() && !stat.startsWith("Z");
    }

    /** The pid in a pid file (absolute path in the container), or null if missing or not a number. */
    public Integer readPid(String pidFile) {
        ExecResult r = exec("cat", pidFile);
        if (r.getExitCode() != 0) {
            return null;
        }
        try {
            return Integer.valueOf(r.getStdout().strip());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    public boolean fileExists(String path) {
        return exec("test", "-e", path).getExitCode() == 0;
    }

    /** {@code /proc/<pid>/cwd}, or null. */
    public String cwdOf(int pid) {
        ExecResult r = exec("readlink", "/proc/" + pid + "/cwd");
        return r.getExitCode() == 0 ? r.getStdout().strip() : null;
    }

    /** The process's comm name ({@code ps -o comm}), or null. */
    public String commOf(int pid) {
        ExecResult r = exec("cat", "/proc/" + pid + "/comm");
        return r.getExitCode() == 0 ? r.getStdout().strip() : null;
    }

    /** Sends a signal ({@code TERM}, {@code KILL}...) as root. True if kill succeeded. */
    public boolean signal(int pid, String signal) {
        return exec("kill", "-" + signal, Integer.toString(pid)).getExitCode() == 0;
    }

    /** True if something listens on the TCP port inside the container. */
    public boolean isListening(int port) {
        ExecResult r = exec("ss", "-Hltn", "sport = :" + port);
        return r.getExitCode() == 0 && !r.getStdout().isBlank();
    }

    // ------------------------------------------------------------------------------------------
    // sshd

    /**
     * Takes sshd down (the listener; open sessions stay) so the host looks like one whose sshd
     * is down. The container keeps running; connections to {@link #sshPort()} then fail (Docker's
     * port proxy accepts and resets them).
     */
    public void stopSshd() {
        sh("kill $(cat /run/sshd.pid)");
        if (!TestHosts.await(() -> !isListening(22), Duration.ofSeconds(10))) {
            throw new IllegalStateException("sshd still listens after stopSshd()");
        }
    }

    /** Brings sshd back after {@link #stopSshd()}. */
    public void startSshd() {
        execOk("/usr/sbin/sshd");
        if (!TestHosts.await(() -> isListening(22), Duration.ofSeconds(10))) {
            throw new IllegalStateException("sshd does not listen after startSshd()");
        }
    }

    /** The host's public key, {@code ssh-ed25519 AAAA...} (type and key, no comment). */
    public String hostPublicKey() {
        String[] f = execOk("cat", HOST_KEY_PUB).strip().split("\\s+");
        return f[0] + " " + f[1];
    }

    /** A known_hosts line for {@code [host()]:sshPort()} with this container's host key. */
    public String knownHostsLine() {
        return knownHostsLine(host(), sshPort());
    }

    /** A known_hosts line for the given address (e.g. {@link #ipAddress()} and 22). */
    public String knownHostsLine(String hostName, int port) {
        String name = port == 22 ? hostName : "[" + hostName + "]:" + port;
        return name + " " + hostPublicKey();
    }

    @Override
    public void close() {
        container.stop();
    }
}
