package dev.baton.engine.chat;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * The Python string and dict methods chat templates call, which Jinja (running in Python) has and
 * Jinjava (running on Java objects) does not: {@code strip lstrip rstrip upper lower title capitalize
 * startswith endswith split replace} on strings and {@code get(key, default)} on dicts. Resolves
 * method calls only; everything else falls through to Jinjava's resolver. Stateless.
 */
final class PythonMethods extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(method instanceof String name)) {
            return null;
        }
        Object[] p = params == null ? new Object[0] : params;
        Object result;
        if (base instanceof String s) {
            result = stringMethod(s, name, p);
        } else if (base instanceof Map<?, ?> map && name.equals("get") && p.length == 2) {
            result = map.containsKey(p[0]) ? map.get(p[0]) : p[1];
        } else {
            return null;
        }
        if (result == NOT_HANDLED) {
            return null;
        }
        context.setPropertyResolved(true);
        return result;
    }

    private static final Object NOT_HANDLED = new Object();

    private static Object stringMethod(String s, String name, Object[] p) {
        return switch (name) {
            case "strip" -> p.length == 0 || p[0] == null ? stripWhitespace(s, true, true) : stripChars(s, str(p[0]), true, true);
            case "lstrip" -> p.length == 0 || p[0] == null ? stripWhitespace(s, true, false) : stripChars(s, str(p[0]), true, false);
            case "rstrip" -> p.length == 0 || p[0] == null ? stripWhitespace(s, false, true) : stripChars(s, str(p[0]), false, true);
            case "upper" -> s.toUpperCase(java.util.Locale.ROOT);
            case "lower" -> s.toLowerCase(java.util.Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s
                    : s.substring(0, 1).toUpperCase(java.util.Locale.ROOT) + s.substring(1).toLowerCase(java.util.Locale.ROOT);
            case "startswith" -> p.length == 1 ? anyMatch(p[0], s::startsWith) : NOT_HANDLED;
            case "endswith" -> p.length == 1 ? anyMatch(p[0], s::endsWith) : NOT_HANDLED;
            case "split" -> split(s, p.length > 0 && p[0] != null ? str(p[0]) : null,
                    p.length > 1 ? ((Number) p[1]).intValue() : -1);
            case "replace" -> p.length == 2 ? s.replace(str(p[0]), str(p[1])) : NOT_HANDLED;
            default -> NOT_HANDLED;
        };
    }

    private static String str(Object o) {
        return String.valueOf(o);
    }

    /** A prefix or suffix test with one string or, as in Python, any of a list of them. */
    private static Object anyMatch(Object arg, java.util.function.Predicate<String> test) {
        if (arg instanceof Iterable<?> options) {
            for (Object o : options) {
                if (test.test(str(o))) {
                    return true;
                }
            }
            return false;
        }
        return test.test(str(arg));
    }

    /** Python's {@code str.isspace()} characters. */
    private static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
    }

    private static String stripWhitespace(String s, boolean left, boolean right) {
        int from = 0;
        int to = s.length();
        while (left && from < to && isSpace(s.charAt(from))) {
            from++;
        }
        while (right && to > from && isSpace(s.charAt(to - 1))) {
            to--;
        }
        return s.substring(from, to);
    }

    private static String stripChars(String s, String chars, boolean left, boolean right) {
        int from = 0;
        int to = s.length();
        while (left && from < to && chars.indexOf(s.charAt(from)) >= 0) {
            from++;
        }
        while (right && to > from && chars.indexOf(s.charAt(to - 1)) >= 0) {
            to--;
        }
        return s.substring(from, to);
    }

    private static String title(String s) {
        StringBuilder b = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            b.append(previousCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            previousCased = Character.isLetter(c);
        }
        return b.toString();
    }

    /** Python's {@code str.split}: on runs of whitespace without a separator, else on each separator. */
    private static List<String> split(String s, String separator, int maxSplit) {
        List<String> parts = new ArrayList<>();
        if (separator == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isSpace(s.charAt(i))) {
                    i++;
                }
                if (i >= n) {
                    break;
                }
                if (maxSplit >= 0 && parts.size() == maxSplit) {
                    parts.add(stripWhitespace(s.substring(i), false, true));
                    break;
                }
                int start = i;
                while (i < n && !isSpace(s.charAt(i))) {
                    i++;
                }
                parts.add(s.substring(start, i));
            }
            return parts;
        }
        if (separator.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        int from = 0;
        int at;
        while ((maxSplit < 0 || parts.size() < maxSplit) && (at = s.indexOf(separator, from)) >= 0) {
            parts.add(s.substring(from, at));
            from = at + separator.length();
        }
        parts.add(s.substring(from));
        return parts;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // read-only: never resolves properties
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
