package dev.baton.cuda;

/** The shape of one kernel launch: grid, threads per block (one dimension), dynamic shared memory. */
public record Launch(String kernel, int gridX, int gridY, int gridZ, int blockX, int sharedBytes) {

    /** CUDA's limits: grid x below 2^31, y and z at most 65,535; at most 1,024 threads a block. */
    public Launch {
        if (gridX < 1 || gridY < 1 || gridZ < 1 || gridY > 65_535 || gridZ > 65_535) {
            throw new IllegalArgumentException(kernel + ": grid " + gridX + " x " + gridY + " x " + gridZ
                    + " outside CUDA's limits (x >= 1, 1 <= y, z <= 65,535)");
        }
        if (blockX < 32 || blockX > 1024 || blockX % 32 != 0) {
            throw new IllegalArgumentException(kernel + ": " + blockX + " threads a block (whole warps, at most 1,024)");
        }
    }

    public long threads() {
        return (long) gridX * gridY * gridZ * blockX;
    }
}
