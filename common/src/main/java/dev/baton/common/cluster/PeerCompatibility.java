package dev.baton.common.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import dev.baton.common.KvCompatibility;
import dev.baton.common.ModelFingerprint;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What an engine node must share with the other engine nodes of its cluster (docs/design.md §3, "Joining"):
 * the protocol version, and, with every node of the same model name, the model's fingerprint, the KV dtype,
 * the block size and the KV layout (the nodes that exchange KV blocks and route by block hashes). A node
 * that differs is refused when it joins ({@link JoinCompatChecker}). Immutable.
 *
 * <p>An engine node carries it twice, from one codec here: in its configuration under {@link #CONFIG_PATH}
 * (Pekko sends that part of a joining node's configuration to the member that handles the join) and as a
 * cluster role starting with {@link #ROLE_PREFIX} (roles travel with the membership, so every member, the
 * router included, knows the tuple of every engine node without asking it).
 *
 * @param modelName       the model's name (GGUF {@code general.name}); issue 16 routes by it
 * @param model           the fingerprint of the model file
 * @param kvDtype         element type of the KV cache (F32, F16 or Q8_0)
 * @param blockSize       positions per KV block
 * @param kvLayout        name of the byte layout inside a block
 * @param protocolVersion the KV format / transfer protocol version ({@link KvCompatibility#PROTOCOL_VERSION})
 */
public record PeerCompatibility(String modelName, ModelFingerprint model, String kvDtype, int blockSize, String kvLayout,
        int protocolVersion) {

    /** Where an engine node puts its tuple in its configuration (set at start, never by hand). */
    public static final String CONFIG_PATH = "baton.compat";

    /** The prefix of the cluster role that carries the tuple. */
    public static final String ROLE_PREFIX = "baton-compat|";

    private static final String FIELD_SEPARATOR = "|";

    /** How the models of engine nodes may differ within one cluster ({@code baton.cluster.join-check.models}). */
    public enum Models {
        /** Every engine node serves the same model (the router serves one): another model name is refused too. */
        ONE,
        /**
         * Nodes of different model names may share the cluster (routing by model name, issue 16); nodes of the
         * same name must match in everything.
         */
        BY_NAME
    }

    public PeerCompatibility {
        if (modelName == null || model == null || kvDtype == null || kvLayout == null) {
            throw new IllegalArgumentException("peer compatibility with a missing field: " + modelName + ", " + model
                    + ", " + kvDtype + ", " + kvLayout);
        }
        if (blockSize < 1) {
            throw new IllegalArgumentException("peer compatibility: block size " + blockSize + " is not positive");
        }
    }

    /** The tuple of an engine's KV compatibility, under the model name {@code modelName}. */
    public static PeerCompatibility of(String modelName, KvCompatibility kv) {
        return new PeerCompatibility(modelName, kv.model(), kv.dtype(), kv.blockSize(), kv.layout(), kv.protocolVersion());
    }

    /**
     * Why a node of this tuple may not join a cluster with a node of tuple {@code member}, naming every field
     * that differs with both values ({@code "block size 32 (the cluster's: 16)"}); null when it may.
     */
    public String refusal(PeerCompatibility member, Models models) {
        List<String> diffs = new ArrayList<>();
        diff(diffs, "protocol version", protocolVersion, member.protocolVersion);
        if (models == Models.BY_NAME && !modelName.equals(member.modelName)) {
            return diffs.isEmpty() ? null : String.join(", ", diffs); // another model: no KV crosses between them
        }
        diff(diffs, "model name", modelName, member.modelName);
        diff(diffs, "model fingerprint", model, member.model);
        diff(diffs, "KV dtype", kvDtype, member.kvDtype);
        diff(diffs, "block size", blockSize, member.blockSize);
        diff(diffs, "KV layout", kvLayout, member.kvLayout);
        return diffs.isEmpty() ? null : String.join(", ", diffs);
    }

    private static void diff(List<String> out, String name, Object mine, Object theirs) {
        if (!mine.equals(theirs)) {
            out.add(name + " " + quote(mine) + " (the cluster's: " + quote(theirs) + ")");
        }
    }

    private static String quote(Object v) {
        return v instanceof String s ? "\"" + s + "\"" : v.toString();
    }

    /**
     * The first refusal of this tuple against {@code members} (the tuples of the engine nodes in the cluster), or
     * null when none refuses it.
     */
    public String refusal(Collection<PeerCompatibility> members, Models models) {
        for (PeerCompatibility m : members) {
            String r = refusal(m, models);
            if (r != null) {
                return r;
            }
        }
        return null;
    }

    /** The cluster role carrying this tuple: {@code baton-compat|VERSION|DTYPE|BLOCK|LAYOUT|FINGERPRINT|NAME}. */
    public String role() {
        return ROLE_PREFIX + String.join(FIELD_SEPARATOR, Integer.toString(protocolVersion), kvDtype,
                Integer.toString(blockSize), kvLayout, model.toString(), modelName);
    }

    /** The tuple a role of {@link #role()} carries; null when {@code role} is another role or cannot be read. */
    public static PeerCompatibility fromRole(String role) {
        if (!role.startsWith(ROLE_PREFIX)) {
            return null;
        }
        String[] f = role.substring(ROLE_PREFIX.length()).split("\\|", 6); // the name, last, may hold anything
        if (f.length != 6) {
            return null;
        }
        try {
            return new PeerCompatibility(f[5], ModelFingerprint.parse(f[4]), f[1], Integer.parseInt(f[2]), f[3],
                    Integer.parseInt(f[0]));
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** The tuple among a member's roles, or null when it has none (the router). */
    public static PeerCompatibility fromRoles(Collection<String> roles) {
        for (String r : roles) {
            PeerCompatibility c = fromRole(r);
            if (c != null) {
                return c;
            }
        }
        return null;
    }

    /**
     * {@code base} with this tuple under {@link #CONFIG_PATH} and its role added to {@code pekko.cluster.roles};
     * {@code address} (may be null) is where this node's actor system is reached, so that a member that refuses
     * it can tell it why ({@link JoinCompatChecker}).
     */
    public Config addTo(Config base, String address) {
        Map<String, Object> m = new HashMap<>();
        m.put("model-name", modelName);
        m.put("model-fingerprint", model.toString());
        m.put("kv-dtype", kvDtype);
        m.put("block-size", blockSize);
        m.put("kv-layout", kvLayout);
        m.put("protocol-version", protocolVersion);
        if (address != null) {
            m.put("address", address);
        }
        List<String> roles = new ArrayList<>(base.hasPath("pekko.cluster.roles")
                ? base.getStringList("pekko.cluster.roles") : List.of());
        roles.removeIf(r -> r.startsWith(ROLE_PREFIX));
        roles.add(role());
        return base.withValue(CONFIG_PATH, ConfigValueFactory.fromMap(m))
                .withValue("pekko.cluster.roles", ConfigValueFactory.fromIterable(roles));
    }

    /** The tuple under {@link #CONFIG_PATH} of {@code config}; null when it has none (a router, an older node). */
    public static PeerCompatibility fromConfig(Config config) {
        if (!config.hasPath(CONFIG_PATH)) {
            return null;
        }
        Config c = config.getConfig(CONFIG_PATH);
        try {
            return new PeerCompatibility(c.getString("model-name"), ModelFingerprint.parse(c.getString("model-fingerprint")),
                    c.getString("kv-dtype"), c.getInt("block-size"), c.getString("kv-layout"), c.getInt("protocol-version"));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(CONFIG_PATH + " cannot be read: " + e.getMessage(), e);
        }
    }

    /** The address under {@link #CONFIG_PATH} of {@code config} where its node hears why it was refused, or null. */
    public static String addressIn(Config config) {
        String path = CONFIG_PATH + ".address";
        return config.hasPath(path) ? config.getString(path) : null;
    }
}
