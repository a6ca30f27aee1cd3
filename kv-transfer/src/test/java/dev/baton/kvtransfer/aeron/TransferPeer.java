package dev.baton.kvtransfer.aeron;

import dev.baton.common.TransferId;
import dev.baton.kvtransfer.KvDestination;
import dev.baton.kvtransfer.KvReceiver;
import dev.baton.kvtransfer.KvSender;
import dev.baton.kvtransfer.KvTransferListener;
import dev.baton.kvtransfer.ReceivedTransfer;
import dev.baton.kvtransfer.KvFailure;
import dev.baton.kvtransfer.SendResult;
import dev.baton.kvtransfer.SharedRegion;
import dev.baton.kvtransfer.aeron.AeronTransportSettings.DriverMode;
import dev.baton.kvtransfer.aeron.Fixtures.RecordingSender;
import dev.baton.kvtransfer.aeron.Fixtures.Sent;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.AgentRunner;

/**
 * The other process of {@link TwoProcessTransferTest}: a sender or a receiver, driven by arguments,
 * reporting on stdout one line per event. Every run is bounded in time.
 * <pre>
 *   send    dir driver channel stream replyChannel replyStream firstId transfers blocks blockBytes seed stopAfter deadlineMs
 *           prints "HALF" after stopAfter blocks of the first transfer (then waits to be killed), else "DONE n m"
 *   receive dir channel stream replyChannel replyStream
 *           prints "READY", then "BEGIN id" per accepted transfer; exits after 60 s
 * </pre>
 */
public final class TransferPeer {

    private static final int LAYERS = 4;

    private TransferPeer() {}

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "send" -> send(args);
            case "receive" -> receive(args);
            default -> throw new IllegalArgumentException("mode " + args[0]);
        }
    }

    private static void send(String[] a) throws Exception {
        AeronTransportSettings s = Fixtures.settings(a[1], a[3], Integer.parseInt(a[4]), a[5], Integer.parseInt(a[6]))
                .withDriver(DriverMode.valueOf(a[2]), a[1]);
        long firstId = Long.parseLong(a[7]);
        int transfers = Integer.parseInt(a[8]);
        int blocks = Integer.parseInt(a[9]);
        int blockBytes = Integer.parseInt(a[10]);
        long seed = Long.parseLong(a[11]);
        int stopAfter = Integer.parseInt(a[12]);
        long deadlineNs = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(a[13]));
        boolean shared = a.length > 14 && a[14].equals("shared");
        RecordingSender listener = new RecordingSender();
        long transferBytes = (long) blocks * blockBytes;
        try (SharedRegion region = shared ? SharedRegion.create("transfer-peer", transfers * transferBytes) : null;
                AeronKvTransport transport = AeronKvTransport.launch(s, new SimpleMeterRegistry());
                KvSender sender = transport.newSender(listener, region);
                Arena arena = Arena.ofConfined()) {
            MemorySegment source = shared ? null : arena.allocate(blockBytes, 64);
            KvDestination dest = new KvDestination(s.channel(), s.streamId());
            for (int t = 0; t < transfers; t++) {
                // shared: every transfer's blocks in a region slice of their own, kept to the end
                SendResult r = Fixtures.sendTransfer(sender, Fixtures.compat(LAYERS), dest, seed, firstId + t, blocks, blockBytes,
                        System.nanoTime() + deadlineNs, shared ? region.segment().asSlice(t * transferBytes, transferBytes)
                                : source, stopAfter);
                if (r != SendResult.OK) {
                    System.out.println("ERROR " + r);
                    return;
                }
                if (shared && t == 0) { // the first verdict tells the sender whether the receiver maps the region
                    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    while (listener.endings.isEmpty() && System.nanoTime() - end < 0) {
                        sender.doWork(); // the verdict stays queued for the count below
                    }
                }
                if (stopAfter < blocks) {
                    System.out.println("HALF");
                    System.out.flush();
                    Thread.sleep(60_000);
                    return;
                }
            }
            int complete = 0;
            int failed = 0;
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (complete + failed < transfers && System.nanoTime() - end < 0) {
                sender.doWork();
                Sent sent = listener.endings.poll();
                if (sent != null) {
                    if (sent.kind().equals("complete")) {
                        complete++;
                    } else {
                        failed++;
                        System.out.println("FAILED " + sent);
                    }
                }
            }
            System.out.println("DONE " + complete + " " + failed);
        }
    }

    private static void receive(String[] a) throws Exception {
        AeronTransportSettings s = Fixtures.settings(a[1], a[2], Integer.parseInt(a[3]), a[4], Integer.parseInt(a[5]));
        try (AeronKvTransport transport = AeronKvTransport.launch(s, new SimpleMeterRegistry());
                Arena arena = Arena.ofShared()) {
            KvReceiver receiver = transport.newReceiver(Fixtures.compat(LAYERS), new KvTransferListener() {
                @Override
                public MemorySegment[] onBegin(TransferId id, long tag, int blockCount, int blockBytes) {
                    MemorySegment[] blocks = new MemorySegment[blockCount];
                    for (int i = 0; i < blockCount; i++) {
                        blocks[i] = arena.allocate(blockBytes, 64);
                    }
                    System.out.println("BEGIN " + id.value());
                    System.out.flush();
                    return blocks;
                }

                @Override
                public void onComplete(ReceivedTransfer transfer) {
                    System.out.println("COMPLETE " + transfer.id().value());
                }

                @Override
                public void onFailed(ReceivedTransfer transfer, KvFailure failure, String reason) {
                    System.out.println("FAILED " + transfer.id().value() + " " + failure);
                }

                @Override
                public void onCancelled(ReceivedTransfer transfer, String reason) {
                    System.out.println("CANCELLED " + transfer.id().value());
                }
            });
            try (AgentRunner runner = transport.startOnThread(receiver)) {
                System.out.println("READY");
                System.out.flush();
                Thread.sleep(60_000);
            }
        }
    }
}
