using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using PvDrm.Native.Io;

namespace PvDrm.Cli;

/// <summary>
/// Options and arguments whose values are parsed and checked in one step that cannot throw: a
/// bad value becomes a parse error naming the option and what it takes (exit code 2), never an
/// exception while validating, and never a .NET type name in the message.
/// </summary>
public static class CommandValues
{
    /// <summary>A whole number in <paramref name="min"/>..<paramref name="max"/>.</summary>
    public static Option<int> Int(string name, string description, int defaultValue, int min, int max) => new(name)
    {
        Description = $"{description} ({min}..{max})",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r => ParseInt(r, name, min, max, defaultValue),
    };

    /// <summary>A finite number in <paramref name="min"/>..<paramref name="max"/>.</summary>
    public static Option<double> Number(string name, string description, double defaultValue, double min, double max) => new(name)
    {
        Description = $"{description} ({min}..{max})",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r => ParseNumber(r, name, min, max) ?? defaultValue,
    };

    /// <summary>A finite number in <paramref name="min"/>..<paramref name="max"/>, or nothing when not given.</summary>
    public static Option<double?> OptionalNumber(string name, string description, double min, double max) => new(name)
    {
        Description = description,
        CustomParser = r => ParseNumber(r, name, min, max),
    };

    /// <summary>A string that is not empty; null when not given.</summary>
    public static Option<string?> Text(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = r => NonEmpty(r, name, "a non-empty value"),
    };

    /// <summary>A file path that is not empty (whether the file is usable is the loader's to say).</summary>
    public static Option<string?> File(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = r => NonEmpty(r, name, "a file path"),
    };

    /// <summary>An endpoint: unix:PATH, or with <paramref name="unixOnly"/> false also tcp:HOST:PORT and vsock:CID:PORT.</summary>
    public static Option<string?> Endpoint(string name, string description, bool unixOnly) => new(name)
    {
        Description = description,
        CustomParser = r => ParseEndpoint(r, name, unixOnly),
    };

    /// <summary><see cref="Endpoint(string, string, bool)"/> with a default.</summary>
    public static Option<string> Endpoint(string name, string description, bool unixOnly, string defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = r => ParseEndpoint(r, name, unixOnly) ?? defaultValue,
    };

    /// <summary>One of <paramref name="values"/>; null when not given.</summary>
    public static Option<string?> OneOf(string name, string description, params string[] values)
    {
        var option = new Option<string?>(name) { Description = description, CustomParser = r => Among(r, name, values) };
        option.CompletionSources.Add(values);
        return option;
    }

    /// <summary>An argument that takes one of <paramref name="values"/>.</summary>
    public static Argument<string> OneOf(Argument<string> argument, params string[] values)
    {
        argument.CustomParser = r => Among(r, $"<{argument.Name}>", values) ?? "";
        argument.HelpName = string.Join("|", values);
        argument.CompletionSources.Add(values);
        return argument;
    }

    /// <summary>An argument that must not be empty.</summary>
    public static Argument<string> NonEmpty(Argument<string> argument, string expected)
    {
        argument.CustomParser = r => NonEmpty(r, $"<{argument.Name}>", expected) ?? "";
        return argument;
    }

    private static string? Last(ArgumentResult r) => r.Tokens.Count == 0 ? null : r.Tokens[^1].Value;

    private static int ParseInt(ArgumentResult r, string name, int min, int max, int defaultValue)
    {
        if (Last(r) is not { } text) return defaultValue;
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max)
            return value;
        bool digits = text.TrimStart('-', '+').Length > 0 && text.TrimStart('-', '+').All(char.IsAsciiDigit);
        r.AddError(digits ? $"{name}: {text} is outside {min}..{max}" : $"{name}: '{text}' is not a whole number; expected {min}..{max}");
        return defaultValue;
    }

    private static double? ParseNumber(ArgumentResult r, string name, double min, double max)
    {
        if (Last(r) is not { } text) return null;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            r.AddError($"{name}: '{text}' is not a number; expected {min}..{max}");
        else if (value < min || value > max) r.AddError($"{name}: {text} is outside {min}..{max}");
        else return value;
        return null;
    }

    private static string? NonEmpty(ArgumentResult r, string name, string expected)
    {
        if (Last(r) is not { } text) return null;
        if (string.IsNullOrWhiteSpace(text)) r.AddError($"{name}: empty; expected {expected}");
        return text;
    }

    private static string? ParseEndpoint(ArgumentResult r, string name, bool unixOnly)
    {
        string expected = unixOnly ? "unix:PATH" : "unix:PATH, tcp:HOST:PORT or vsock:CID:PORT";
        if (Last(r) is not { } text) return null;
        try
        {
            Endpoints.Validate(text);
            if (!unixOnly || Endpoints.UnixPath(text) is { Length: > 0 }) return text;
        }
        catch (FormatException)
        {
            // reported below, with what the option takes
        }
        r.AddError($"{name}: '{text}' is not an endpoint; expected {expected}");
        return text;
    }

    private static string? Among(ArgumentResult r, string name, string[] values)
    {
        if (Last(r) is not { } text) return null;
        if (!values.Contains(text, StringComparer.Ordinal)) r.AddError($"{name}: '{text}' is not {string.Join(" or ", values)}");
        return text;
    }
}
