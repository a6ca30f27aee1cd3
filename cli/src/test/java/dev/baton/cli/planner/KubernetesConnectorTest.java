package dev.baton.cli.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.baton.planner.PlannerConfigException;
import dev.baton.planner.Pool;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.DeploymentBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The kubernetes connector against fabric8's mock API server in CRUD mode (it stores what is created and patched;
 * no controller runs, so a scaled Deployment's pods stay as they are). A Deployment {@code rel-baton-prefill} with
 * a selector, and its pods, named as the Helm chart names them.
 */
@EnableKubernetesMockClient(crud = true)
@Timeout(60)
class KubernetesConnectorTest {

    private static final String NS = "serving";
    private static final Map<String, String> PREFILL = Map.of("app.kubernetes.io/instance", "rel",
            "app.kubernetes.io/component", "prefill");

    KubernetesClient client;
    private KubernetesConnector connector;

    @BeforeEach
    void deployment() {
        Deployment d = new DeploymentBuilder().withNewMetadata().withName("rel-baton-prefill").withNamespace(NS).endMetadata()
                .withNewSpec().withReplicas(3).withNewSelector().withMatchLabels(PREFILL).endSelector()
                .withNewTemplate().withNewMetadata().withLabels(PREFILL).endMetadata().withNewSpec().addNewContainer()
                .withName("prefill").withImage("baton").endContainer().endSpec().endTemplate().endSpec().build();
        client.apps().deployments().inNamespace(NS).resource(d).create();
        connector = new KubernetesConnector(client, NS, "rel-baton");
    }

    /** A pod of the prefill Deployment; the mock server stamps its creation time (whole seconds). */
    private void pod(String name) {
        Pod p = new PodBuilder().withNewMetadata().withName(name).withNamespace(NS).withLabels(PREFILL).endMetadata().build();
        client.pods().inNamespace(NS).resource(p).create();
    }

    private int replicas() {
        return client.apps().deployments().inNamespace(NS).withName("rel-baton-prefill").get().getSpec().getReplicas();
    }

    @Test
    void shouldScaleTheRolesDeploymentUpByTheCount() {
        connector.start(Pool.PREFILL, 2);
        assertEquals(5, replicas());
    }

    @Test
    void shouldMarkTheDrainedPodAndScaleDownByOneWithoutTheCluster() {
        pod("rel-baton-prefill-a");
        pod("rel-baton-prefill-b");
        AtomicBoolean viaCluster = new AtomicBoolean();
        connector.drain(Pool.PREFILL, "rel-baton-prefill-a", () -> viaCluster.set(true));
        assertEquals(2, replicas());
        assertEquals("-1000", client.pods().inNamespace(NS).withName("rel-baton-prefill-a").get().getMetadata()
                .getAnnotations().get(KubernetesConnector.DELETION_COST));
        Map<String, String> other = client.pods().inNamespace(NS).withName("rel-baton-prefill-b").get().getMetadata()
                .getAnnotations();
        assertTrue(other == null || !other.containsKey(KubernetesConnector.DELETION_COST), "only the drained pod is marked");
        assertTrue(!viaCluster.get(), "the Deployment would restart a node that exits by itself");
    }

    @Test
    void shouldRefuseToDrainAPodThatDoesNotExist() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> connector.drain(Pool.PREFILL, "rel-baton-prefill-gone", () -> {}));
        assertTrue(e.getMessage().contains("pod rel-baton-prefill-gone not found"), e.getMessage());
        assertEquals(3, replicas());
    }

    @Test
    void shouldDeleteOnlyNotReadyPodsNewestFirstAndScaleDownByTheirNumber() throws InterruptedException {
        pod("rel-baton-prefill-old");
        Thread.sleep(1100);
        pod("rel-baton-prefill-mid");
        Thread.sleep(1100);
        pod("rel-baton-prefill-new");
        connector.abandon(Pool.PREFILL, 1, Set.of("rel-baton-prefill-new"));
        assertNull(client.pods().inNamespace(NS).withName("rel-baton-prefill-mid").get(), "the newest not-ready pod");
        assertNotNull(client.pods().inNamespace(NS).withName("rel-baton-prefill-old").get());
        assertNotNull(client.pods().inNamespace(NS).withName("rel-baton-prefill-new").get(), "a ready pod stays");
        assertEquals(2, replicas());
    }

    @Test
    void shouldLeaveEverythingWhenEveryPodIsReady() {
        pod("rel-baton-prefill-a");
        connector.abandon(Pool.PREFILL, 2, Set.of("rel-baton-prefill-a"));
        assertNotNull(client.pods().inNamespace(NS).withName("rel-baton-prefill-a").get());
        assertEquals(3, replicas());
    }

    @Test
    void shouldNameAMissingDeployment() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> connector.start(Pool.DECODE, 1));
        assertTrue(e.getMessage().contains("Deployment rel-baton-decode not found in namespace serving"), e.getMessage());
    }

    @Test
    void shouldTakeThePrefixFromTheChartsEnvironmentWhenNotConfigured() {
        Config root = ConfigFactory.defaultReference();
        assertEquals("rel-baton", KubernetesConnector.prefix(root, Map.of(KubernetesConnector.FULLNAME_ENV, "rel-baton")));
        PlannerConfigException e = assertThrows(PlannerConfigException.class, () -> KubernetesConnector.prefix(root, Map.of()));
        assertTrue(e.getMessage().startsWith("baton.planner.kubernetes.deployment-prefix: "), e.getMessage());
    }

    @Test
    void shouldRefuseAPrefixThatCannotNameADeployment() {
        Config root = ConfigFactory.parseString("baton.planner.kubernetes.deployment-prefix = \"Rel_Baton\"")
                .withFallback(ConfigFactory.defaultReference());
        PlannerConfigException e = assertThrows(PlannerConfigException.class, () -> KubernetesConnector.prefix(root, Map.of()));
        assertTrue(e.getMessage().startsWith("baton.planner.kubernetes.deployment-prefix: 'Rel_Baton'"), e.getMessage());
    }
}
