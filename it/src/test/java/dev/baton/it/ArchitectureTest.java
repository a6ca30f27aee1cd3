package dev.baton.it;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module graph of docs/design.md §2 at the package level. The poms already keep a module from
 * seeing modules it does not depend on; these rules cover what the poms cannot express (the
 * router uses only the tokenizer side of the engine) and guard against transitive leaks.
 */
class ArchitectureTest {

    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.baton");
    }

    @Test
    void shouldKeepCommonFreeOfOtherModules() {
        noClasses().that().resideInAPackage("dev.baton.common..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.baton.engine..", "dev.baton.cuda..",
                        "dev.baton.kvtransfer..", "dev.baton.prefill..", "dev.baton.decode..", "dev.baton.router..",
                        "dev.baton.cli..", "dev.baton.bench..")
                .allowEmptyShould(true).check(classes);
    }

    @Test
    void shouldKeepEngineFreeOfTransportsAndNodes() {
        noClasses().that().resideInAPackage("dev.baton.engine..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.baton.cuda..", "dev.baton.kvtransfer..",
                        "dev.baton.prefill..", "dev.baton.decode..", "dev.baton.router..", "dev.baton.cli..",
                        "org.apache.pekko..", "io.aeron..")
                .allowEmptyShould(true).check(classes);
    }

    @Test
    void shouldKeepKvTransferFreeOfEngineAndPekko() {
        noClasses().that().resideInAPackage("dev.baton.kvtransfer..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.baton.engine..", "dev.baton.prefill..",
                        "dev.baton.decode..", "dev.baton.router..", "org.apache.pekko..")
                .allowEmptyShould(true).check(classes);
    }

    @Test
    void shouldLetRouterUseOnlyTheTokenizerSideOfTheEngine() {
        noClasses().that().resideInAPackage("dev.baton.router..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.baton.prefill..", "dev.baton.decode..",
                        "dev.baton.kvtransfer..", "dev.baton.cuda..")
                .allowEmptyShould(true).check(classes);
        // of the engine only tokenizer, chat, gguf and sampling: not the model, steps, KV pool, kernels,
        // scheduler, nor the Engine itself (the router reaches engines through its GenerationBackend)
        noClasses().that().resideInAPackage("dev.baton.router..")
                .should().dependOnClassesThat(resideInAPackage("dev.baton.engine..").and(not(resideInAnyPackage(
                        "dev.baton.engine.tokenizer..", "dev.baton.engine.chat..", "dev.baton.engine.gguf..",
                        "dev.baton.engine.sampling.."))))
                .allowEmptyShould(true).check(classes);
    }

    @Test
    void shouldKeepNodeRolesApart() {
        noClasses().that().resideInAPackage("dev.baton.prefill..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.baton.decode..", "dev.baton.router..")
                .allowEmptyShould(true).check(classes);
        noClasses().that().resideInAPackage("dev.baton.decode..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.baton.prefill..", "dev.baton.router..")
                .allowEmptyShould(true).check(classes);
    }

    @Test
    void shouldNotDependOnTheCliFromLibraries() {
        noClasses().that().resideOutsideOfPackages("dev.baton.cli..", "dev.baton.it..")
                .should().dependOnClassesThat().resideInAPackage("dev.baton.cli..")
                .allowEmptyShould(true).check(classes);
    }
}
