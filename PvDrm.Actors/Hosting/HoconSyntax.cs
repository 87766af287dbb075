namespace PvDrm.Actors;

/// <summary>
/// The structure of a HOCON text: quotes closed, braces and brackets balanced, no value without a
/// key. Akka's parser lets these through (an unclosed <c>{</c> or a stray <c>}</c> parses into a
/// config that silently lacks keys), so a configuration file is checked here first and a mistake
/// is reported with its line instead of as some unrelated key "missing".
/// </summary>
public static class HoconSyntax
{
    /// <summary>Null when the structure is sound, else what is wrong and on which line.</summary>
    public static string? Check(string text)
    {
        var open = new Stack<(char Bracket, int Line)>();
        int line = 1;
        bool lineHasContent = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '\n':
                    line++;
                    lineHasContent = false;
                    continue;
                case '#':
                case '/' when i + 1 < text.Length && text[i + 1] == '/':
                    while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                    continue;
                case '"' when text.AsSpan(i).StartsWith("\"\"\""):
                    int end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                    if (end < 0) return $"line {line}: a \"\"\" string is never closed";
                    line += text.AsSpan(i, end - i).Count('\n');
                    i = end + 2;
                    break;
                case '"':
                    for (i++; i < text.Length && text[i] != '"'; i++)
                    {
                        if (text[i] == '\n') return $"line {line}: a quoted string is not closed on its line";
                        if (text[i] == '\\') i++;
                    }
                    if (i >= text.Length) return $"line {line}: a quoted string is never closed";
                    break;
                case '{' or '[':
                    open.Push((c, line));
                    break;
                case '}' or ']':
                    char expected = c == '}' ? '{' : '[';
                    if (open.Count == 0) return $"line {line}: '{c}' closes nothing";
                    var (bracket, at) = open.Pop();
                    if (bracket != expected) return $"line {line}: '{c}' closes the '{bracket}' of line {at}";
                    break;
                case '=' or ':' when !lineHasContent && (open.Count == 0 || open.Peek().Bracket == '{'):
                    return $"line {line}: a value without a key";
                default:
                    if (char.IsWhiteSpace(c) || c == ',') continue;
                    break;
            }
            lineHasContent = true;
        }
        return open.Count > 0 ? $"line {open.Peek().Line}: '{open.Peek().Bracket}' is never closed" : null;
    }
}
