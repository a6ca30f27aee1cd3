package dev.baton.common.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.baton.common.ModelFingerprint;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PeerCompatibilityTest {

    static final ModelFingerprint TINY = new ModelFingerprint(0x1234L, 0x5678L);
    static final ModelFingerprint OTHER = new ModelFingerprint(0x1234L, 0x9999L);
    static final PeerCompatibility BASE = new PeerCompatibility("oracle-tiny", TINY, "F32", 16, "layer/kv/head/position/dim", 1);

    @Test
    void shouldAcceptAnEqualTuple() {
        assertNull(BASE.refusal(BASE, PeerCompatibility.Models.ONE));
        assertNull(BASE.refusal(List.of(BASE, BASE), PeerCompatibility.Models.BY_NAME));
        assertNull(BASE.refusal(List.of(), PeerCompatibility.Models.ONE), "the first engine node sets the tuple");
    }

    @Test
    void shouldNameADifferentBlockSizeWithBothValues() {
        PeerCompatibility joining = new PeerCompatibility("oracle-tiny", TINY, "F32", 32, BASE.kvLayout(), 1);
        assertEquals("block size 32 (the cluster's: 16)", joining.refusal(BASE, PeerCompatibility.Models.ONE));
        assertEquals("block size 32 (the cluster's: 16)", joining.refusal(BASE, PeerCompatibility.Models.BY_NAME));
    }

    @Test
    void shouldNameEveryFieldThatDiffers() {
        PeerCompatibility joining = new PeerCompatibility("oracle-tiny", OTHER, "F16", 16, BASE.kvLayout(), 2);
        String r = joining.refusal(BASE, PeerCompatibility.Models.ONE);
        assertEquals("protocol version 2 (the cluster's: 1), model fingerprint " + OTHER + " (the cluster's: " + TINY
                + "), KV dtype \"F16\" (the cluster's: \"F32\")", r);
    }

    @Test
    void shouldRefuseAnotherModelNameWhenTheClusterServesOneModel() {
        PeerCompatibility other = new PeerCompatibility("oracle-small", OTHER, "F32", 16, BASE.kvLayout(), 1);
        String r = other.refusal(BASE, PeerCompatibility.Models.ONE);
        assertTrue(r.startsWith("model name \"oracle-small\" (the cluster's: \"oracle-tiny\"), model fingerprint"), r);
    }

    @Test
    void shouldAcceptAnotherModelNameByNameUnlessItsProtocolDiffers() {
        PeerCompatibility other = new PeerCompatibility("oracle-small", OTHER, "F16", 32, BASE.kvLayout(), 1);
        assertNull(other.refusal(BASE, PeerCompatibility.Models.BY_NAME), "no KV crosses between two models");
        PeerCompatibility newer = new PeerCompatibility("oracle-small", OTHER, "F16", 32, BASE.kvLayout(), 2);
        assertEquals("protocol version 2 (the cluster's: 1)", newer.refusal(BASE, PeerCompatibility.Models.BY_NAME));
    }

    @Test
    void shouldCompareWithEveryMemberOfTheSameName() {
        PeerCompatibility small = new PeerCompatibility("oracle-small", OTHER, "F32", 16, BASE.kvLayout(), 1);
        PeerCompatibility joining = new PeerCompatibility("oracle-tiny", TINY, "F32", 32, BASE.kvLayout(), 1);
        assertEquals("block size 32 (the cluster's: 16)",
                joining.refusal(List.of(small, BASE), PeerCompatibility.Models.BY_NAME));
    }

    @Test
    void shouldRoundTripThroughItsRoleWhateverTheModelNameHolds() {
        PeerCompatibility odd = new PeerCompatibility("Baton demo | model (random: gibberish)", TINY, "F16", 8,
                BASE.kvLayout(), 1);
        assertEquals(odd, PeerCompatibility.fromRole(odd.role()));
        assertEquals(odd, PeerCompatibility.fromRoles(Set.of("decode", odd.role())));
        assertNull(PeerCompatibility.fromRoles(Set.of("router")));
        assertNull(PeerCompatibility.fromRole("baton-compat|1|F32|x|l|" + TINY + "|n"), "a bad block size is no tuple");
    }

    @Test
    void shouldRoundTripThroughTheConfigurationAndAddItsRole() {
        Config base = ConfigFactory.parseString("pekko.cluster.roles = [prefill]");
        Config c = BASE.addTo(base, "pekko://baton@127.0.0.1:2552");
        assertEquals(BASE, PeerCompatibility.fromConfig(c));
        assertEquals("pekko://baton@127.0.0.1:2552", PeerCompatibility.addressIn(c));
        assertEquals(List.of("prefill", BASE.role()), c.getStringList("pekko.cluster.roles"));
        assertNull(PeerCompatibility.fromConfig(base));
        assertNull(PeerCompatibility.addressIn(BASE.addTo(base, null)));
    }

    @Test
    void shouldNameABadModelsSetting() {
        assertEquals(PeerCompatibility.Models.ONE, JoinCompatChecker.models(ConfigFactory.empty()));
        assertEquals(PeerCompatibility.Models.BY_NAME,
                JoinCompatChecker.models(ConfigFactory.parseString("baton.cluster.join-check.models = by-name")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JoinCompatChecker.models(ConfigFactory.parseString("baton.cluster.join-check.models = two")));
        assertEquals("baton.cluster.join-check.models must be one or by-name, got \"two\"", e.getMessage());
    }
}
