using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PvDrm.Native.Drm.Uapi;
using Xunit.Abstractions;

namespace PvDrm.Native.Tests.Drm;

/// <summary>
/// The C# uapi against the installed C headers: native/layout_probe.c is compiled against
/// /usr/include/libdrm and prints every size, offset, ioctl number and constant, which must
/// equal the C# side, and both sides must name the same things.
/// </summary>
public class DrmLayoutTests(ITestOutputHelper output)
{
    private static readonly Lazy<ProbeFacts> s_probe = new(ProbeFacts.Run);

    private static readonly Type[] Structs = typeof(DrmHeader).Assembly.GetTypes()
        .Where(t => t.Namespace == typeof(DrmHeader).Namespace && t.IsValueType && !t.IsNested)
        .OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();

    private static readonly FieldInfo[] HeaderFields = new[] { typeof(DrmHeader), typeof(NouveauDrm) }
        .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static)).ToArray();

    private static IEnumerable<FieldInfo> Ioctls => HeaderFields.Where(f => f.IsInitOnly && f.Name.StartsWith("DRM_IOCTL_", StringComparison.Ordinal));

    private static IEnumerable<FieldInfo> Constants => HeaderFields.Where(f => f.IsLiteral);

    [LayoutProbeFact]
    public void Every_struct_has_the_size_and_field_offsets_the_installed_headers_give()
    {
        var probe = Probe();
        var wrong = new List<string>();
        foreach (var type in Structs)
        {
            int size = (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(type).Invoke(null, null)!;
            if (probe.Sizes.TryGetValue(type.Name, out long c) && c != size) wrong.Add($"sizeof {type.Name}: C {c}, C# {size}");
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
            {
                long offset = Marshal.OffsetOf(type, field.Name);
                if (probe.Offsets.TryGetValue($"{type.Name}.{field.Name}", out long co) && co != offset)
                    wrong.Add($"offsetof {type.Name}.{field.Name}: C {co}, C# {offset}");
            }
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        output.WriteLine($"{Structs.Length} structs, {probe.Offsets.Count} fields checked against the installed headers");
    }

    [LayoutProbeFact]
    public void Every_ioctl_number_is_the_one_the_installed_headers_compute()
    {
        var probe = Probe();
        var wrong = Ioctls
            .Where(f => probe.Ioctls.TryGetValue(f.Name, out long c) && c != (uint)f.GetValue(null)!)
            .Select(f => $"{f.Name}: C 0x{probe.Ioctls[f.Name]:x8}, C# 0x{(uint)f.GetValue(null)!:x8}").ToList();
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        output.WriteLine($"{probe.Ioctls.Count} ioctl numbers checked");
    }

    [LayoutProbeFact]
    public void Every_constant_has_the_value_the_installed_headers_define()
    {
        var probe = Probe();
        var wrong = Constants
            .Where(f => probe.Constants.TryGetValue(f.Name, out long c) && (ulong)c != Convert.ToUInt64(f.GetValue(null)))
            .Select(f => $"{f.Name}: C {probe.Constants[f.Name]}, C# {f.GetValue(null)}").ToList();
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        output.WriteLine($"{probe.Constants.Count} constants checked");
    }

    [LayoutProbeFact]
    public void The_probe_and_the_uapi_files_name_the_same_structs_fields_ioctls_and_constants()
    {
        var probe = Probe();
        var csStructs = Structs.Select(t => t.Name).ToHashSet();
        var csFields = Structs.SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Instance).Select(f => $"{t.Name}.{f.Name}")).ToHashSet();
        var csIoctls = Ioctls.Select(f => f.Name).ToHashSet();
        var csConstants = Constants.Select(f => f.Name).ToHashSet();

        var differences = Differences("struct", csStructs, probe.Sizes.Keys)
            .Concat(Differences("field", csFields, probe.Offsets.Keys))
            .Concat(Differences("ioctl", csIoctls, probe.Ioctls.Keys))
            .Concat(Differences("constant", csConstants, probe.Constants.Keys)).ToList();
        Assert.True(differences.Count == 0, string.Join("\n", differences));
    }

    private static IEnumerable<string> Differences(string what, HashSet<string> csharp, IEnumerable<string> probe)
    {
        var c = probe.ToHashSet();
        return csharp.Except(c).Select(n => $"{what} {n} is in the C# uapi but not printed by layout_probe.c")
            .Concat(c.Except(csharp).Select(n => $"{what} {n} is printed by layout_probe.c but missing from the C# uapi"));
    }

    private static ProbeFacts Probe()
    {
        NativeToolchain.Ensure(NativeToolchain.LayoutProbeGap, NativeToolchain.RequireLayoutProbe);
        return s_probe.Value;
    }

    /// <summary>The probe's output: "sizeof S n", "offsetof S f n", "ioctl NAME n", "const NAME n".</summary>
    private sealed record ProbeFacts(Dictionary<string, long> Sizes, Dictionary<string, long> Offsets, Dictionary<string, long> Ioctls, Dictionary<string, long> Constants)
    {
        public static ProbeFacts Run()
        {
            string probe = NativeToolchain.Compile("layout_probe", ["layout_probe.c"], "libdrm");
            var (code, text) = NativeToolchain.Run(probe);
            Assert.True(code == 0, $"layout_probe exited with {code}:\n{text}");
            var facts = new ProbeFacts(new(), new(), new(), new());
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var p = line.Split(' ');
                switch (p[0])
                {
                    case "sizeof": facts.Sizes[p[1]] = long.Parse(p[2]); break;
                    case "offsetof": facts.Offsets[$"{p[1]}.{p[2]}"] = long.Parse(p[3]); break;
                    case "ioctl": facts.Ioctls[p[1]] = long.Parse(p[2]); break;
                    case "const": facts.Constants[p[1]] = (long)ulong.Parse(p[2]); break;
                    default: Assert.Fail($"layout_probe printed an unknown line: {line}"); break;
                }
            }
            return facts;
        }
    }
}
