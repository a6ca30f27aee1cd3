package dev.baton.common.cluster;

import com.typesafe.config.Config;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.Extension;
import org.apache.pekko.actor.ExtensionIdProvider;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.cluster.ConfigValidation;
import org.apache.pekko.cluster.Invalid;
import org.apache.pekko.cluster.JoinConfigCompatChecker;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.Valid$;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Refuses an engine node whose {@link PeerCompatibility} does not match the cluster's, when it joins: Pekko
 * Cluster runs this checker ({@code pekko.cluster.configuration-compatibility-check.checkers.baton} in common's
 * reference.conf) on the member that handles a join, with the joining node's {@code baton.compat} section.
 *
 * <p>The member handling the join is usually the router, which serves no model: so the joining node is
 * compared with the tuples of the cluster's engine nodes, which their roles carry (every member that is
 * joining, weakly up or up), and with the handling member's own tuple when it is an engine node. A refused
 * node never becomes a member: it is in no Receptionist listing and no request reaches it. This member logs
 * the difference (a WARN here, and Pekko's own line), and tells the refused node why ({@link JoinRefusal} to
 * its {@link JoinRefusals} actor), which logs it and exits with an error (Pekko runs its coordinated shutdown
 * with {@code IncompatibleConfigurationDetectedReason}). Pekko also runs the check on the joining node, against
 * the {@code baton.compat} of the member that accepted it (none when that is the router).
 *
 * <p>Two nodes that join at the same moment are each compared with the members of that moment, so two
 * mismatched first nodes of a model could both be accepted; the nodes' KV handshake still refuses KV between them.
 *
 * <p>Threading: called on Pekko's cluster daemon; the registry of actor systems is a concurrent set.
 */
public final class JoinCompatChecker extends JoinConfigCompatChecker {

    private static final Logger LOG = LoggerFactory.getLogger(JoinCompatChecker.class);

    /** Where the models setting lives ({@code one} or {@code by-name}). */
    public static final String MODELS_PATH = "baton.cluster.join-check.models";

    /**
     * The actor systems of this JVM that may handle joins (registered by {@link Systems}, gone at termination):
     * Pekko creates checkers without arguments, so {@link #check} finds its system from its configuration.
     */
    private static final Set<ExtendedActorSystem> SYSTEMS = ConcurrentHashMap.newKeySet();

    /** Pekko creates checkers by reflection, without arguments. */
    public JoinCompatChecker() {}

    /**
     * The actor system whose configuration {@code config} is (Pekko passes a copy): the only one in this JVM (a node
     * process), else the one whose cluster address has the configuration's canonical host and port (tests); null
     * when none is known.
     */
    private static ExtendedActorSystem systemOf(Config config) {
        if (SYSTEMS.size() == 1) {
            return SYSTEMS.iterator().next();
        }
        String host = config.getString("pekko.remote.artery.canonical.hostname");
        int port = config.getInt("pekko.remote.artery.canonical.port");
        for (ExtendedActorSystem s : SYSTEMS) {
            org.apache.pekko.actor.Address a = s.provider().getDefaultAddress();
            if (host.equals(a.host().getOrElse(() -> "")) && port == (Integer) a.port().getOrElse(() -> -1)) {
                return s;
            }
        }
        return null;
    }

    /**
     * A Pekko extension ({@code pekko.library-extensions} in common's reference.conf) that makes its actor system known to
     * the checker, so that it can read the system's cluster members.
     */
    public static final class Systems extends AbstractExtensionId<Systems.Registered> implements ExtensionIdProvider {

        /** The extension's id, as Pekko's {@code pekko.extensions} loads it. */
        public static final Systems INSTANCE = new Systems();

        /** The extension's value: the registration. */
        public static final class Registered implements Extension {
            private Registered() {}
        }

        private Systems() {}

        @Override
        public Registered createExtension(ExtendedActorSystem system) {
            SYSTEMS.add(system);
            system.registerOnTermination(() -> SYSTEMS.remove(system));
            return new Registered();
        }

        @Override
        public Systems lookup() {
            return INSTANCE;
        }
    }

    @Override
    public scala.collection.immutable.Seq<String> requiredKeys() {
        return CollectionConverters.asScala(List.of(PeerCompatibility.CONFIG_PATH)).toList();
    }

    @Override
    public ConfigValidation check(Config toCheck, Config actualConfig) {
        PeerCompatibility joining = PeerCompatibility.fromConfig(toCheck);
        if (joining == null) {
            return Valid$.MODULE$; // the router, or the handling member's own section sent back to a joining router
        }
        List<PeerCompatibility> members = new ArrayList<>();
        PeerCompatibility self = PeerCompatibility.fromConfig(actualConfig);
        if (self != null) {
            members.add(self);
        }
        ExtendedActorSystem system = systemOf(actualConfig);
        Iterable<Member> current = system == null ? List.of() : Cluster.get(system).state().getMembers();
        for (Member m : current) {
            MemberStatus s = m.status();
            if (s == MemberStatus.joining() || s == MemberStatus.weaklyUp() || s == MemberStatus.up()) {
                PeerCompatibility c = PeerCompatibility.fromRoles(m.getRoles());
                if (c != null) {
                    members.add(c);
                }
            }
        }
        String refusal = joining.refusal(members, models(actualConfig));
        if (refusal == null) {
            return Valid$.MODULE$;
        }
        String address = PeerCompatibility.addressIn(toCheck);
        String by = system == null ? "a member" : Cluster.get(system).selfAddress().toString();
        LOG.warn("refused the engine node at {} at join: it does not match the cluster's engine nodes: {}",
                address == null ? "(address not given)" : address, refusal);
        if (address != null && system != null) {
            // sent before Pekko's refusal, on the same connection: the refused node knows why before it stops
            system.actorSelection(address + "/system/" + JoinRefusals.NAME).tell(new JoinRefusal(refusal, by),
                    ActorRef.noSender());
        }
        return new Invalid(CollectionConverters.asScala(List.of("baton.compat: " + refusal)).toList());
    }

    /** The models setting of {@code config}; a bad value is named. */
    public static PeerCompatibility.Models models(Config config) {
        String v = config.hasPath(MODELS_PATH) ? config.getString(MODELS_PATH) : "one";
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "one" -> PeerCompatibility.Models.ONE;
            case "by-name" -> PeerCompatibility.Models.BY_NAME;
            default -> throw new IllegalArgumentException(MODELS_PATH + " must be one or by-name, got \"" + v + "\"");
        };
    }
}
