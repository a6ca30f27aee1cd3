package dev.baton.cli.planner;

import static dev.baton.cli.planner.ConnectorConfig.key;

import com.typesafe.config.Config;
import dev.baton.planner.NodeConnector;
import dev.baton.planner.PlannerConfigException;
import dev.baton.planner.Pool;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code connector = kubernetes}: scales the role's Deployment of the Helm chart ({@code deploy/k8s/baton}:
 * {@code <prefix>-<role>}, pods named as their node ids) through the API server.
 *
 * <ul>
 *   <li>start: the Deployment's {@code spec.replicas} plus the count (a JSON patch that tests the value it read,
 *       so a concurrent change fails instead of being overwritten);
 *   <li>drain: not through the cluster (the Deployment would start the exited container again); the pod gets
 *       {@value #DELETION_COST} -1000 and the Deployment one replica less, so its ReplicaSet deletes that pod, whose
 *       SIGTERM drains it within the chart's terminationGracePeriodSeconds;
 *   <li>abandon: the role's pods that are not ready (not in the ready ids, not being deleted), the newest first,
 *       as a ReplicaSet itself chooses: marked with the deletion cost, the replicas lowered by their number, then
 *       deleted.
 * </ul>
 *
 * The API calls block; a failure is thrown naming the Deployment or pod. Not thread-safe (one planner thread).
 */
public final class KubernetesConnector implements NodeConnector {

    private static final Logger LOG = LoggerFactory.getLogger(KubernetesConnector.class);
    private static final String PATH = "baton.planner.kubernetes";
    /** The annotation a ReplicaSet reads to choose which pods to delete when it scales down (lowest first). */
    static final String DELETION_COST = "controller.kubernetes.io/pod-deletion-cost";
    /** The environment variable the Helm chart sets on the router: the release's full name. */
    static final String FULLNAME_ENV = "BATON_K8S_FULLNAME";

    private final KubernetesClient client;
    private final String namespace;
    private final String prefix;

    /**
     * @param client    the API client (closed by {@link #close})
     * @param namespace namespace of the Deployments and pods
     * @param prefix    the Deployments are {@code <prefix>-<role>}
     */
    KubernetesConnector(KubernetesClient client, String namespace, String prefix) {
        this.client = client;
        this.namespace = namespace;
        this.prefix = prefix;
    }

    /**
     * The connector for {@code baton.planner.kubernetes} of {@code root}, with a client configured as fabric8 does
     * (in-cluster service account, else {@code ~/.kube/config}).
     *
     * @param env the environment ({@value #FULLNAME_ENV} when the prefix is empty)
     */
    public static KubernetesConnector create(Config root, Map<String, String> env) {
        String prefix = prefix(root, env);
        String configured = key(PATH + ".namespace", () -> root.getString(PATH + ".namespace").strip());
        KubernetesClient client = new KubernetesClientBuilder().build();
        String namespace = configured.isEmpty() ? client.getNamespace() : configured;
        if (namespace == null || namespace.isBlank()) {
            client.close();
            throw new PlannerConfigException(PATH + ".namespace: empty, and the client knows no namespace of its own"
                    + " (not in a pod, no namespace in the kube config): set it");
        }
        return new KubernetesConnector(client, namespace, prefix);
    }

    /** {@code deployment-prefix}, or the chart's {@value #FULLNAME_ENV} when it is empty. */
    static String prefix(Config root, Map<String, String> env) {
        String p = key(PATH + ".deployment-prefix", () -> root.getString(PATH + ".deployment-prefix").strip());
        if (p.isEmpty()) {
            p = env.getOrDefault(FULLNAME_ENV, "").strip();
            if (p.isEmpty()) {
                throw new PlannerConfigException(PATH + ".deployment-prefix: empty, and " + FULLNAME_ENV
                        + " (set by the Helm chart on the router) is not set either: set it to the Helm release's full name");
            }
        }
        if (!p.matches("[a-z0-9]([-a-z0-9.]*[a-z0-9])?")) {
            throw new PlannerConfigException(PATH + ".deployment-prefix: '" + p
                    + "' is not the start of a Kubernetes object name (lower-case letters, digits, '-', '.')");
        }
        return p;
    }

    @Override
    public String name() {
        return "kubernetes";
    }

    /** The Deployment of {@code pool}'s nodes. */
    String deploymentName(Pool pool) {
        return prefix + "-" + pool.role();
    }

    @Override
    public void start(Pool pool, int count) {
        int replicas = replicas(deployment(pool));
        setReplicas(pool, replicas, replicas + count);
    }

    @Override
    public void drain(Pool pool, String nodeId, Runnable viaCluster) {
        Deployment d = deployment(pool);
        Pod pod = pod(nodeId);
        if (pod == null) {
            throw new IllegalStateException("pod " + nodeId + " not found in namespace " + namespace + " (draining a "
                    + pool.role() + " node of Deployment " + deploymentName(pool) + ")");
        }
        markForDeletion(nodeId);
        int replicas = replicas(d);
        setReplicas(pool, replicas, Math.max(0, replicas - 1));
    }

    @Override
    public void abandon(Pool pool, int count, Set<String> readyNodeIds) {
        Deployment d = deployment(pool);
        Map<String, String> selector = d.getSpec().getSelector() == null ? null : d.getSpec().getSelector().getMatchLabels();
        if (selector == null || selector.isEmpty()) {
            throw new IllegalStateException("Deployment " + deploymentName(pool) + " in namespace " + namespace
                    + " has no spec.selector.matchLabels: its pods cannot be found");
        }
        List<Pod> notReady = call("listing the pods of Deployment " + deploymentName(pool),
                () -> client.pods().inNamespace(namespace).withLabels(selector).list().getItems()).stream()
                .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
                .filter(p -> !readyNodeIds.contains(p.getMetadata().getName()))
                .sorted(Comparator.comparing(KubernetesConnector::created).reversed())
                .limit(count)
                .toList();
        if (notReady.isEmpty()) {
            return;
        }
        for (Pod p : notReady) {
            markForDeletion(p.getMetadata().getName());
        }
        int replicas = replicas(d);
        setReplicas(pool, replicas, Math.max(0, replicas - notReady.size()));
        for (Pod p : notReady) {
            String name = p.getMetadata().getName();
            call("deleting pod " + name, () -> client.pods().inNamespace(namespace).withName(name).delete());
            LOG.info("planner: deleted pod {} of Deployment {}: not ready in time", name, deploymentName(pool));
        }
    }

    @Override
    public void close() {
        client.close();
    }

    private Deployment deployment(Pool pool) {
        String name = deploymentName(pool);
        Deployment d = call("reading Deployment " + name,
                () -> client.apps().deployments().inNamespace(namespace).withName(name).get());
        if (d == null) {
            throw new IllegalStateException("Deployment " + name + " not found in namespace " + namespace
                    + " (the " + pool.role() + " pool's: " + PATH + ".deployment-prefix or " + FULLNAME_ENV + " is '"
                    + prefix + "'; is the chart's " + pool.role() + " pool enabled?)");
        }
        return d;
    }

    /** When the pod was created; the epoch when it does not say (oldest). */
    private static Instant created(Pod p) {
        String t = p.getMetadata().getCreationTimestamp();
        try {
            return t == null ? Instant.EPOCH : Instant.parse(t);
        } catch (DateTimeParseException e) {
            return Instant.EPOCH;
        }
    }

    private static int replicas(Deployment d) {
        Integer r = d.getSpec() == null ? null : d.getSpec().getReplicas();
        return r == null ? 1 : r;
    }

    private Pod pod(String name) {
        return call("reading pod " + name, () -> client.pods().inNamespace(namespace).withName(name).get());
    }

    private void markForDeletion(String podName) {
        String patch = "{\"metadata\":{\"annotations\":{\"" + DELETION_COST + "\":\"-1000\"}}}";
        call("annotating pod " + podName, () -> client.pods().inNamespace(namespace).withName(podName)
                .patch(PatchContext.of(PatchType.JSON_MERGE), patch));
    }

    /** Sets the replicas from {@code from} to {@code to}; fails if they are no longer {@code from}. */
    private void setReplicas(Pool pool, int from, int to) {
        String name = deploymentName(pool);
        String patch = "[{\"op\":\"test\",\"path\":\"/spec/replicas\",\"value\":" + from + "},"
                + "{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":" + to + "}]";
        call("scaling Deployment " + name + " from " + from + " to " + to + " replicas",
                () -> client.apps().deployments().inNamespace(namespace).withName(name)
                        .patch(PatchContext.of(PatchType.JSON), patch));
        LOG.info("planner: Deployment {} scaled from {} to {} replicas", name, from, to);
    }

    private interface Call<T> {
        T run();
    }

    private <T> T call(String what, Call<T> call) {
        try {
            return call.run();
        } catch (KubernetesClientException e) {
            throw new IllegalStateException(what + " in namespace " + namespace + " failed: " + e.getMessage(), e);
        }
    }
}
