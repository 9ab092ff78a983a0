/*
 * AvroPeer.java - the Java Avro reference of bench_avro: parse both schemas
 * of each pair (org.apache.avro.Schema.Parser) and check that the reader can
 * read the writer (SchemaCompatibility), the same work and the same corpora
 * as chanreg's figure, timed inside this process after a warm-up (so the
 * JIT has compiled the hot paths: on a 2-core machine C2 needs seconds, a
 * warm-up of half a second left Java ten times slower than its steady
 * state): WARMUP_SECONDS, then more rounds while they still get faster.
 *
 * Usage: java -cp CLASSPATH AvroPeer SECONDS WARMUP_SECONDS CORPUS_FILE...
 * A corpus file holds one schema per line, writer and reader alternating.
 * Prints per corpus: "<file> <pairs per second> <incompatible pairs>", the
 * best of three rounds of SECONDS each (a shared machine's noise only slows).
 */
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

public final class AvroPeer {
    /** Timed rounds per corpus; the best counts (as in bench_avro). */
    private static final int ROUNDS = 3;

    private AvroPeer() {
    }

    /* One pass over the corpus; returns the number of incompatible pairs. */
    private static int pass(List<String> lines) {
        int incompatible = 0;

        for (int i = 0; i + 1 < lines.size(); i += 2) {
            Schema writer = new Schema.Parser().parse(lines.get(i));
            Schema reader = new Schema.Parser().parse(lines.get(i + 1));
            SchemaCompatibility.SchemaPairCompatibility c =
                SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);

            if (c.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
                incompatible++;
            }
        }
        return incompatible;
    }

    private static double timed(List<String> lines, double budget, int[] incompatible) {
        long t0 = System.nanoTime();
        long pairs = 0;
        double t;

        do {
            incompatible[0] = pass(lines);
            pairs += lines.size() / 2;
            t = (System.nanoTime() - t0) / 1e9;
        } while (t < budget);
        return pairs / t;
    }

    public static void main(String[] args) throws Exception {
        double budget = Double.parseDouble(args[0]);
        double warmup = Double.parseDouble(args[1]);

        for (int a = 2; a < args.length; a++) {
            List<String> lines = Files.readAllLines(Paths.get(args[a]), StandardCharsets.UTF_8);
            int[] incompatible = new int[1];

            /* warm-up: WARMUP_SECONDS, then on while a round still gains more
             * than 5 % (the JIT is still at work; a loaded machine delays it),
             * for at most 30 s */
            timed(lines, warmup, incompatible);
            double last = timed(lines, budget, incompatible);
            long start = System.nanoTime();
            for (;;) {
                double r = timed(lines, budget, incompatible);
                if (r <= last * 1.05 || System.nanoTime() - start > 30_000_000_000L) {
                    break;
                }
                last = r;
            }
            double rate = 0;
            for (int round = 0; round < ROUNDS; round++) {
                rate = Math.max(rate, timed(lines, budget, incompatible));
            }
            System.out.printf("%s %.1f %d%n", args[a], rate, incompatible[0]);
        }
    }
}
