package dev.baton.kvtransfer.hosttier;

import dev.baton.common.BlockHash;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The other process of {@link HostTierProcessTest}: opens the host tier named by its arguments
 * ({@code directory slots blockBytes}) and answers one line per command line read from stdin.
 * <pre>
 *   write BATCH FROM COUNT   -> "put STORED ALREADY_PRESENT OTHER"
 *   read BATCH FROM COUNT    -> "get HITS MISSES BAD"   (BAD: a hit with the wrong bytes, or CORRUPT)
 *   stats                    -> "stats ENTRIES EVICTIONS RECLAIMED WRITING"
 *   claim BATCH I            -> claims a slot, writes half the block, prints "claimed", then hangs
 * </pre>
 * Exits when stdin closes.
 */
public final class HostTierChild {

    private HostTierChild() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int slots = Integer.parseInt(args[1]);
        long blockBytes = Long.parseLong(args[2]);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (HostTier tier = HostTier.open(Blocks.settings(dir, slots, blockBytes));
                Arena arena = Arena.ofConfined();
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            MemorySegment block = arena.allocate(blockBytes, 64);
            out.println("ready");
            for (String line; (line = in.readLine()) != null; ) {
                String[] w = line.trim().split(" ");
                switch (w[0]) {
                    case "write" -> {
                        int stored = 0;
                        int present = 0;
                        int other = 0;
                        for (int i = Integer.parseInt(w[2]), end = i + Integer.parseInt(w[3]); i < end; i++) {
                            BlockHash h = Blocks.hash(w[1], i);
                            Blocks.fill(block, h);
                            switch (tier.put(h, block)) {
                                case STORED -> stored++;
                                case ALREADY_PRESENT -> present++;
                                default -> other++;
                            }
                        }
                        out.println("put " + stored + " " + present + " " + other);
                    }
                    case "read" -> {
                        int hits = 0;
                        int misses = 0;
                        int bad = 0;
                        for (int i = Integer.parseInt(w[2]), end = i + Integer.parseInt(w[3]); i < end; i++) {
                            BlockHash h = Blocks.hash(w[1], i);
                            switch (tier.get(h, block)) {
                                case HIT -> {
                                    hits++;
                                    if (!Blocks.matches(block, h)) {
                                        bad++;
                                    }
                                }
                                case MISS -> misses++;
                                default -> bad++;
                            }
                        }
                        out.println("get " + hits + " " + misses + " " + bad);
                    }
                    case "stats" -> {
                        HostTierStats s = tier.stats();
                        out.println("stats " + s.entries() + " " + s.evictions() + " " + s.reclaimedWrites() + " " + s.writing());
                    }
                    case "claim" -> {
                        BlockHash h = Blocks.hash(w[1], Integer.parseInt(w[2]));
                        HostTierClaim claim = new HostTierClaim();
                        if (tier.tryClaim(h, claim) != PutResult.CLAIMED) {
                            out.println("not claimed");
                            continue;
                        }
                        Blocks.fill(block, h);
                        MemorySegment.copy(block, 0, claim.buffer(), 0, blockBytes / 2);
                        out.println("claimed");
                        Thread.sleep(Long.MAX_VALUE); // killed here, mid-write
                    }
                    default -> out.println("unknown command " + line);
                }
            }
        }
    }
}
