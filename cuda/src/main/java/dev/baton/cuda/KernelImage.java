package dev.baton.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The kernels this module carries (cuda/build-kernels.sh, run by the build): PTX for {@code compute_90}, which any
 * newer driver compiles for its card, a cubin for {@code sm_90} (H100, H200), and ptxas's resource report for
 * every kernel. A build without nvcc packages only the reason ({@link #unavailableReason()}).
 */
public final class KernelImage {

    static final String DIR = "dev/baton/cuda/kernels/";
    static final String MODULE = "baton_kernels";

    private final byte[] ptx;
    private final byte[] cubin;
    private final String nvcc;
    private final Map<String, KernelResources> resources;

    private KernelImage(byte[] ptx, byte[] cubin, String nvcc, Map<String, KernelResources> resources) {
        this.ptx = ptx;
        this.cubin = cubin;
        this.nvcc = nvcc;
        this.resources = resources;
    }

    /** Registers, stack, spills and shared memory of one kernel on {@code sm_90}, as ptxas reported them. */
    public record KernelResources(String name, int registers, int stackBytes, int spillStoreBytes, int spillLoadBytes,
            int sharedBytes) {}

    /** The packaged kernels, or why there are none (a build without nvcc). */
    public static KernelImage load() {
        Optional<String> why = unavailableReason();
        if (why.isPresent()) {
            throw new CudaUnavailableException("the GPU kernels were not built: " + why.get());
        }
        byte[] ptx = resource(MODULE + ".ptx");
        byte[] cubin = resource(MODULE + ".sm_90.cubin");
        String report = new String(resource("ptxas.txt"), StandardCharsets.UTF_8);
        String nvcc = new String(resource("nvcc.txt"), StandardCharsets.UTF_8).strip();
        return new KernelImage(ptx, cubin, nvcc, parseReport(report));
    }

    /** Why this build carries no kernels, if it carries none. */
    public static Optional<String> unavailableReason() {
        try (InputStream in = KernelImage.class.getClassLoader().getResourceAsStream(DIR + "unavailable.txt")) {
            if (in != null) {
                return Optional.of(new String(in.readAllBytes(), StandardCharsets.UTF_8).strip());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (KernelImage.class.getClassLoader().getResource(DIR + MODULE + ".ptx") == null) {
            return Optional.of("no " + DIR + MODULE + ".ptx on the class path");
        }
        return Optional.empty();
    }

    /** The PTX text, NUL-terminated as cuModuleLoadData wants it. */
    public byte[] ptx() {
        return ptx.clone();
    }

    public byte[] cubin() {
        return cubin.clone();
    }

    /** The nvcc that built them ({@code nvcc 13.0}). */
    public String nvcc() {
        return nvcc;
    }

    /** The kernels' entry names, as declared in the PTX. */
    public Set<String> entries() {
        Set<String> names = new TreeSet<>();
        Matcher m = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(").matcher(new String(ptx, StandardCharsets.US_ASCII));
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    /** ptxas's report per kernel, for {@code sm_90}. */
    public Map<String, KernelResources> resources() {
        return resources;
    }

    private static final Pattern ENTRY = Pattern.compile("Compiling entry function '(\\w+)'");
    private static final Pattern FRAME = Pattern.compile("(\\d+) bytes stack frame, (\\d+) bytes spill stores, (\\d+) bytes spill loads");
    private static final Pattern USED = Pattern.compile("Used (\\d+) registers(?:.*?, (\\d+) bytes smem)?");

    static Map<String, KernelResources> parseReport(String report) {
        Map<String, KernelResources> out = new LinkedHashMap<>();
        String name = null;
        int stack = 0;
        int stores = 0;
        int loads = 0;
        for (String line : report.split("\n")) {
            Matcher e = ENTRY.matcher(line);
            if (e.find()) {
                name = e.group(1);
                continue;
            }
            Matcher f = FRAME.matcher(line);
            if (f.find() && name != null) {
                stack = Integer.parseInt(f.group(1));
                stores = Integer.parseInt(f.group(2));
                loads = Integer.parseInt(f.group(3));
                continue;
            }
            Matcher u = USED.matcher(line);
            if (u.find() && name != null) {
                int smem = u.group(2) == null ? 0 : Integer.parseInt(u.group(2));
                out.put(name, new KernelResources(name, Integer.parseInt(u.group(1)), stack, stores, loads, smem));
                name = null;
            }
        }
        return out;
    }

    private static byte[] resource(String name) {
        try (InputStream in = KernelImage.class.getClassLoader().getResourceAsStream(DIR + name)) {
            if (in == null) {
                throw new CudaUnavailableException("the kernel resource " + DIR + name + " is missing from the build");
            }
            byte[] b = in.readAllBytes();
            if (!name.endsWith(".ptx")) {
                return b;
            }
            byte[] z = new byte[b.length + 1];
            System.arraycopy(b, 0, z, 0, b.length);
            return z;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
