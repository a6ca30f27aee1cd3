package dev.baton.cli.planner;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;

/**
 * Finds free ports on this host for nodes about to start: the first port at or above a given one that no socket
 * holds (bound on any address) and that this probe has not handed out before, since a node just started may not
 * have bound its ports yet. Used by the planner's local connector, {@code bin/baton up} and {@code bin/baton bench chaos}. Not thread-safe
 * (each calls it from one thread).
 */
public final class PortProbe {

    /** Whether a port can be bound now. */
    interface Check {
        boolean free(int port);
    }

    /** How far above the first port the probe looks before it gives up. */
    static final int RANGE = 1000;

    private final Check tcp;
    private final Check udp;
    private final Set<Integer> handedOut = new HashSet<>();

    PortProbe(Check tcp, Check udp) {
        this.tcp = tcp;
        this.udp = udp;
    }

    /** A probe that binds real sockets on the wildcard address. */
    public static PortProbe system() {
        return new PortProbe(PortProbe::tcpFree, PortProbe::udpFree);
    }

    /** Marks {@code port} as handed out (a port another process was told to use): the probe never returns it. */
    public void reserve(int port) {
        handedOut.add(port);
    }

    /**
     * A free TCP port at or above {@code first} (a Pekko or metrics port), now handed out.
     *
     * @throws IllegalStateException naming {@code what} and the range when none is free
     */
    public int tcp(int first, String what) {
        for (int p = first; p < first + RANGE && p <= 65535; p++) {
            if (!handedOut.contains(p) && tcp.free(p)) {
                handedOut.add(p);
                return p;
            }
        }
        throw new IllegalStateException("no free TCP port for " + what + " from " + first + " to "
                + Math.min(65535, first + RANGE - 1));
    }

    /**
     * Two consecutive free UDP ports {@code p, p + 1} at or above {@code first} (KV blocks and acknowledgements),
     * now handed out; returns {@code p}.
     */
    public int udpPair(int first, String what) {
        for (int p = first; p < first + RANGE && p < 65535; p++) {
            if (!handedOut.contains(p) && !handedOut.contains(p + 1) && udp.free(p) && udp.free(p + 1)) {
                handedOut.add(p);
                handedOut.add(p + 1);
                return p;
            }
        }
        throw new IllegalStateException("no two free UDP ports for " + what + " from " + first + " to "
                + Math.min(65535, first + RANGE));
    }

    static boolean tcpFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress(port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static boolean udpFree(int port) {
        try (DatagramSocket s = new DatagramSocket(null)) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress(port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
