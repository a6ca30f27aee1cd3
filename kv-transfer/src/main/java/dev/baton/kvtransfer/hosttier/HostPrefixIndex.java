package dev.baton.kvtransfer.hosttier;

import dev.baton.common.BlockHash;
import java.util.List;

/**
 * Which block hashes the host tier holds for one compatibility: the host level of the prefix index
 * (docs/design.md §6). A view over {@link HostTier}'s shared index, so it sees blocks stored by every process
 * on the host the moment they are published; it copies nothing and refreshes no last access.
 *
 * <p>Thread-safe. Answers are a snapshot: a block reported present may be evicted before it is read,
 * so a reader still handles {@link GetResult#MISS}.
 */
public final class HostPrefixIndex {

    private final HostTier tier;

    HostPrefixIndex(HostTier tier) {
        this.tier = tier;
    }

    /** Whether a readable block is stored under {@code hash}. */
    public boolean contains(BlockHash hash) {
        return tier.contains(hash);
    }

    /**
     * Length of the longest run of present blocks at the start of {@code chain} (the hashes of a
     * sequence's full blocks, in order): how many leading blocks could be read instead of computed.
     */
    public int matchedPrefix(List<BlockHash> chain) {
        int n = 0;
        for (int i = 0, size = chain.size(); i < size; i++) {
            if (!tier.contains(chain.get(i))) {
                break;
            }
            n++;
        }
        return n;
    }
}
