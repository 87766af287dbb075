using PvDrm.Native.Gpu.Soft;

namespace PvDrm.Native.Tests.SoftGpu;

/// <summary>SoftCommandWriter's output as words, exactly as SOFTGPU.md lays them out.</summary>
public class WriterTests
{
    public static TheoryData<string, Action<SoftCommandWriter>, uint[]> Encodings() => new()
    {
        { "NOP", w => w.Nop(), new uint[] { 0x0001_0000 } },
        { "FILL", w => w.Fill(1, 0, 4096, 0x3f800000), new uint[] { 0x0007_0001, 1, 0, 0, 0x1000, 0, 0x3f800000 } },
        {
            "COPY", w => w.Copy(2, 0x1_0000_0010, 3, 0x20, 0x2_0000_0040),
            new uint[] { 0x0009_0002, 2, 0x10, 1, 3, 0x20, 0, 0x40, 2 }
        },
        {
            "SAXPY", w => w.Saxpy(2f, 1000, 0, 8, 1, 0x1_0000_0000),
            new uint[] { 0x0009_0003, 0x40000000, 1000, 0, 8, 0, 1, 0, 1 }
        },
        {
            "GEMM", w => w.Gemm(64, 32, 16, 1f, 0.5f, 0, 0, 1, 0x100, 2, 0x3_0000_0000),
            new uint[] { 0x000F_0004, 64, 32, 16, 0x3f800000, 0x3f000000, 0, 0, 0, 1, 0x100, 0, 2, 0, 3 }
        },
        { "SEMAPHORE_RELEASE", w => w.SemaphoreRelease(4, 0x40, 7), new uint[] { 0x0005_0005, 4, 0x40, 0, 7 } },
        { "SEMAPHORE_ACQUIRE", w => w.SemaphoreAcquire(4, 0x40, 7), new uint[] { 0x0005_0006, 4, 0x40, 0, 7 } },
    };

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Each_command_is_its_header_then_its_fields_as_little_endian_words(string name, Action<SoftCommandWriter> write, uint[] words)
    {
        var w = new SoftCommandWriter();

        write(w);

        Assert.Equal(words, Soft.WordsOf(w.Written));
        Assert.Equal(words.Length * 4, w.Length);
        var op = (SoftOpcode)(words[0] & 0xFFFF);
        Assert.Equal(name, SoftOpcodes.Name(op));
        Assert.Equal(words.Length, SoftOpcodes.Words(op));
    }

    [Fact]
    public void The_header_word_is_laid_out_low_byte_first()
    {
        var w = new SoftCommandWriter();
        w.Gemm(1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0);

        Assert.Equal(new byte[] { 0x04, 0x00, 0x0F, 0x00 }, w.Written[..4].ToArray());
    }

    [Fact]
    public void Commands_append_until_reset()
    {
        var w = new SoftCommandWriter();
        w.Nop();
        w.SemaphoreRelease(0, 0, 1);
        Assert.Equal(24, w.Length);

        w.Reset();

        Assert.Equal(0, w.Length);
        Assert.True(w.Written.IsEmpty);
        w.Nop();
        Assert.Equal(new uint[] { 0x0001_0000 }, Soft.WordsOf(w.Written));
    }

    [Fact]
    public void Unknown_opcodes_have_no_length_and_a_hex_name()
    {
        Assert.Equal(0, SoftOpcodes.Words((SoftOpcode)0x0007));
        Assert.Equal("opcode 0x0007", SoftOpcodes.Name((SoftOpcode)0x0007));
    }
}
