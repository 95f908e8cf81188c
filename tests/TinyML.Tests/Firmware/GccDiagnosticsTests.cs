using TinyML.Diagnostics;
using TinyML.Firmware;

namespace TinyML.Tests.Firmware;

[TestClass]
public sealed class GccDiagnosticsTests
{
    private const string ArmLd = "/usr/lib/gcc/arm-none-eabi/12.2.1/../../../arm-none-eabi/bin/ld";

    [TestMethod]
    public void CompilerErrorKeepsFileLineAndColumn()
    {
        var d = GccDiagnostics.Parse(["/src/main.c:5:13: error: expected ';' before '}' token"]).Single();

        Assert.AreEqual(new Diagnostic(Severity.Error, ErrorCodes.CompilerError, "expected ';' before '}' token", "/src/main.c", 5, 13), d);
        Assert.AreEqual("/src/main.c(5,13): error TML5100: expected ';' before '}' token", d.ToCanonicalString());
    }

    [TestMethod]
    public void FatalMissingHeaderIsTml5101()
    {
        var d = GccDiagnostics.Parse(["/src/main.c:1:10: fatal error: nope.h: No such file or directory", "compilation terminated."]).Single();

        Assert.AreEqual(ErrorCodes.CompilerFatalError, d.Code);
        Assert.AreEqual(Severity.Error, d.Severity);
        Assert.AreEqual(("/src/main.c", 1, 10), (d.File, d.Line, d.Column));
        StringAssert.Contains(d.Message, "nope.h");
    }

    [TestMethod]
    public void WarningKeepsItsFlag()
    {
        var d = GccDiagnostics.Parse(["/src/a.c:3:9: warning: unused variable 'y' [-Wunused-variable]"]).Single();

        Assert.AreEqual(ErrorCodes.CompilerWarning, d.Code);
        Assert.AreEqual(Severity.Warning, d.Severity);
        StringAssert.Contains(d.Message, "[-Wunused-variable]");
    }

    [TestMethod]
    public void WarningPromotedByWerrorIsAnErrorWithItsFlag()
    {
        var d = GccDiagnostics.Parse(["/src/a.c:3:9: error: unused variable 'y' [-Werror=unused-variable]", "cc1: all warnings being treated as errors"]).Single();

        Assert.AreEqual(ErrorCodes.CompilerError, d.Code);
        StringAssert.Contains(d.Message, "[-Werror=unused-variable]");
    }

    [TestMethod]
    public void NoteAndFunctionContextAreAttachedNotReported()
    {
        var diagnostics = GccDiagnostics.Parse(
        [
            "/src/a.c: In function 'helper':",
            "/src/a.c:7:5: error: too few arguments to function 'f'",
            "/src/a.c:2:5: note: declared here",
        ]);

        var d = diagnostics.Single();
        Assert.AreEqual(ErrorCodes.CompilerError, d.Code);
        Assert.AreEqual(7, d.Line);
        StringAssert.Contains(d.Message, "in function 'helper'");
        StringAssert.Contains(d.Message, "note: /src/a.c:2:5: declared here");
    }

    [TestMethod]
    public void UndefinedReferenceIsLinkerErrorWithFileAndLine()
    {
        var diagnostics = GccDiagnostics.Parse(
        [
            $"{ArmLd}: obj/main.o: in function `main':",
            "/src/main.c:2: undefined reference to `missing_fn'",
            "collect2: error: ld returned 1 exit status",
        ]);

        var d = diagnostics.Single();
        Assert.AreEqual(ErrorCodes.LinkerError, d.Code);
        Assert.AreEqual(("/src/main.c", 2), (d.File, d.Line));
        StringAssert.Contains(d.Message, "undefined reference to `missing_fn'");
        StringAssert.Contains(d.Message, "in function 'main'");
    }

    [TestMethod]
    public void UndefinedReferenceWithoutDebugInfoKeepsTheFile()
    {
        var d = GccDiagnostics.Parse([$"{ArmLd}: main.o:(.text.main+0x6): undefined reference to `foo'"]).Single();

        Assert.AreEqual(ErrorCodes.LinkerError, d.Code);
        Assert.AreEqual("main.o", d.File);
        Assert.AreEqual(0, d.Line);
    }

    [TestMethod]
    public void FlashRegionOverflowIsTml5002WithTheNumbers()
    {
        var diagnostics = GccDiagnostics.Parse(
        [
            $"{ArmLd}: Big.elf section `.text' will not fit in region `flash'",
            $"{ArmLd}: region `flash' overflowed by 1057272 bytes",
            "collect2: error: ld returned 1 exit status",
        ]);

        Assert.HasCount(2, diagnostics);
        Assert.IsTrue(diagnostics.All(d => d.Code == ErrorCodes.FlashOverBudget && d.Severity == Severity.Error));
        StringAssert.Contains(diagnostics[1].Message, "1,057,272 bytes");
    }

    [TestMethod]
    public void RamRegionOverflowIsTml5003()
    {
        var diagnostics = GccDiagnostics.Parse(
        [
            $"{ArmLd}: Big.elf section `.bss' will not fit in region `ram'",
            $"{ArmLd}: region `ram' overflowed by 48408 bytes",
        ]);

        Assert.IsTrue(diagnostics.All(d => d.Code == ErrorCodes.RamOverBudget));
        StringAssert.Contains(diagnostics[1].Message, "48,408 bytes");
    }

    [TestMethod]
    public void OtherLinkerAndDriverErrorsAreCoded()
    {
        var diagnostics = GccDiagnostics.Parse(
        [
            "/usr/bin/ld: cannot find -lfoo: No such file or directory",
            "arm-none-eabi-gcc: fatal error: cannot read spec file 'x.specs'",
        ]);

        Assert.AreEqual(ErrorCodes.LinkerError, diagnostics[0].Code);
        Assert.AreEqual(ErrorCodes.CompilerFatalError, diagnostics[1].Code);
        Assert.IsNull(diagnostics[1].File);
    }

    [TestMethod]
    public void Collect2AloneIsStillALinkerError()
    {
        var d = GccDiagnostics.Parse(["collect2: error: ld returned 1 exit status"]).Single();

        Assert.AreEqual(ErrorCodes.LinkerError, d.Code);
    }

    [TestMethod]
    public void UnknownBoardListsTheKnownOnes()
    {
        var ex = Assert.ThrowsExactly<TinyMLException>(() => Boards.Get("esp8266"));

        Assert.AreEqual(ErrorCodes.UnknownBoard, ex.Code);
        StringAssert.Contains(ex.Message, "nrf52840");
        StringAssert.Contains(ex.Message, "host");
        Assert.AreSame(Boards.Nrf52840, Boards.Get("NRF52840"));
    }
}
