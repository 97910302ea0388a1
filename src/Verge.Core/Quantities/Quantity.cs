using System.ComponentModel;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json.Serialization;

namespace Verge.Core.Quantities;

/// <summary>How a <see cref="Quantity"/> prints, remembered from the text it was parsed from.</summary>
public enum QuantityFormat
{
    /// <summary>Decimal SI suffixes: n, u, m, (none), k, M, G, T, P, E.</summary>
    DecimalSI,

    /// <summary>Binary SI suffixes: Ki, Mi, Gi, Ti, Pi, Ei.</summary>
    BinarySI,

    /// <summary>A decimal exponent: e3, E-6.</summary>
    DecimalExponent,
}

/// <summary>
/// resource.Quantity: a fixed-point number with a unit suffix, such as <c>500m</c> CPU or <c>128Mi</c> of memory.
/// The value is kept exactly as a whole number of nano-units (Kubernetes rounds finer values up to 1n), and prints in
/// Kubernetes' canonical form (<c>1.5</c> prints as <c>1500m</c>, <c>0.5Gi</c> as <c>512Mi</c>).
/// <para>
/// A quantity read from JSON that does not parse is kept with its raw text and <see cref="IsValid"/> false, so
/// validation reports it with its field path instead of deserialization failing.
/// </para>
/// </summary>
[JsonConverter(typeof(QuantityJsonConverter))]
[Description("Quantity is a fixed-point representation of a number, such as 500m, 1.5, 128Mi or 1e3.")]
public readonly struct Quantity : IEquatable<Quantity>, IComparable<Quantity>
{
    /// <summary>The text of ErrFormatWrong, as Kubernetes prints it.</summary>
    public const string FormatError = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

    /// <summary>The text of ErrSuffix.</summary>
    public const string SuffixError = "unable to parse quantity's suffix";

    /// <summary>The text of ErrNumeric.</summary>
    public const string NumericError = "unable to parse numeric part of quantity";

    private const int MaxExponent = 400;
    private static readonly BigInteger NanosPerUnit = BigInteger.Pow(10, 9);
    private static readonly BigInteger MaxBinaryNanos = new BigInteger(long.MaxValue) * NanosPerUnit;

    private readonly BigInteger _nanos;
    private readonly string? _invalidText;
    private readonly string? _error;

    private Quantity(BigInteger nanos, QuantityFormat format)
    {
        _nanos = nanos;
        Format = format;
    }

    private Quantity(string invalidText, string error)
    {
        _invalidText = invalidText;
        _error = error;
    }

    /// <summary>Zero, in the DecimalSI format.</summary>
    public static Quantity Zero => default;

    public QuantityFormat Format { get; }

    /// <summary>False for a quantity read from text that does not parse (see <see cref="RawText"/>).</summary>
    public bool IsValid => _error is null;

    /// <summary>The unparsable text of an invalid quantity; null for a valid one.</summary>
    public string? RawText => _invalidText;

    /// <summary>Why an invalid quantity does not parse (one of the Kubernetes error texts); null when valid.</summary>
    public string? Error => _error;

    public bool IsZero => IsValid && _nanos.IsZero;

    /// <summary>-1, 0 or 1.</summary>
    public int Sign => _nanos.Sign;

    /// <summary>A whole number of units with a format.</summary>
    public static Quantity FromUnits(long value, QuantityFormat format = QuantityFormat.DecimalSI) =>
        new(value * NanosPerUnit, format);

    /// <summary>A whole number of thousandths (500 milli-CPU is <c>500m</c>), DecimalSI.</summary>
    public static Quantity FromMilli(long milli) => new(milli * BigInteger.Pow(10, 6), QuantityFormat.DecimalSI);

    /// <summary>Parses a quantity or throws a <see cref="FormatException"/> with Kubernetes' message.</summary>
    public static Quantity Parse(string text) =>
        TryParse(text, out var quantity, out var error) ? quantity : throw new FormatException(error);

    public static bool TryParse(string? text, out Quantity quantity) => TryParse(text, out quantity, out _);

    /// <summary>Parses as Kubernetes' ParseQuantity does; <paramref name="error"/> is its error text on failure.</summary>
    public static bool TryParse(string? text, out Quantity quantity, out string? error)
    {
        quantity = default;
        error = TryParseCore(text, out var nanos, out var format);
        if (error is not null)
        {
            return false;
        }

        quantity = new Quantity(nanos, format);
        return true;
    }

    /// <summary>Parses, keeping unparsable text as an invalid quantity (as the JSON converter does).</summary>
    public static Quantity ParseOrInvalid(string text) =>
        TryParse(text, out var quantity, out var error) ? quantity : new Quantity(text, error!);

    private static string? TryParseCore(string? str, out BigInteger nanos, out QuantityFormat format)
    {
        nanos = BigInteger.Zero;
        format = QuantityFormat.DecimalSI;
        if (string.IsNullOrEmpty(str))
        {
            return FormatError;
        }

        var pos = 0;
        var end = str.Length;
        var positive = true;
        if (str[0] == '-')
        {
            positive = false;
            pos++;
        }
        else if (str[0] == '+')
        {
            pos++;
        }

        while (pos < end && str[pos] == '0')
        {
            pos++;
        }

        if (pos >= end)
        {
            return null;
        }

        var numStart = pos;
        while (pos < end && char.IsAsciiDigit(str[pos]))
        {
            pos++;
        }

        var num = str[numStart..pos];
        var denom = "";
        if (pos < end && str[pos] == '.')
        {
            pos++;
            var denomStart = pos;
            while (pos < end && char.IsAsciiDigit(str[pos]))
            {
                pos++;
            }

            denom = str[denomStart..pos];
        }

        var suffixStart = pos;
        while (pos < end && "eEinumkKMGTP".Contains(str[pos], StringComparison.Ordinal))
        {
            pos++;
        }

        if (pos < end && (str[pos] == '-' || str[pos] == '+'))
        {
            pos++;
        }

        while (pos < end && char.IsAsciiDigit(str[pos]))
        {
            pos++;
        }

        if (pos < end)
        {
            return FormatError;
        }

        if (!TryInterpretSuffix(str[suffixStart..], out var isBinary, out var exponent, out format))
        {
            return SuffixError;
        }

        var digits = num + denom;
        var mantissa = digits.Length == 0 ? BigInteger.Zero : BigInteger.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        if (mantissa.IsZero)
        {
            format = format == QuantityFormat.BinarySI ? QuantityFormat.DecimalSI : format;
            return null;
        }

        // value = mantissa * base^exponent / 10^len(denom); in nanos, multiply by 10^9.
        var numerator = mantissa;
        var decimalShift = 9 - denom.Length;
        if (isBinary)
        {
            numerator <<= exponent;
        }
        else
        {
            decimalShift += exponent;
        }

        if (decimalShift > MaxExponent)
        {
            return NumericError;
        }

        if (decimalShift >= 0)
        {
            nanos = numerator * BigInteger.Pow(10, decimalShift);
        }
        else if (-decimalShift > digits.Length + (isBinary ? exponent : 0) + 1)
        {
            // Far smaller than a nano-unit: Kubernetes rounds any non-zero amount up to 1n.
            nanos = BigInteger.One;
        }
        else
        {
            nanos = BigInteger.DivRem(numerator, BigInteger.Pow(10, -decimalShift), out var remainder);
            if (!remainder.IsZero)
            {
                nanos += 1;
            }
        }

        if (format == QuantityFormat.BinarySI)
        {
            if (nanos > MaxBinaryNanos)
            {
                nanos = MaxBinaryNanos;
            }

            if (nanos < NanosPerUnit)
            {
                format = QuantityFormat.DecimalSI;
            }
        }

        if (!positive)
        {
            nanos = -nanos;
        }

        return null;
    }

    private static bool TryInterpretSuffix(string suffix, out bool isBinary, out int exponent, out QuantityFormat format)
    {
        isBinary = false;
        format = QuantityFormat.DecimalSI;
        exponent = suffix switch
        {
            "" => 0,
            "n" => -9,
            "u" => -6,
            "m" => -3,
            "k" => 3,
            "M" => 6,
            "G" => 9,
            "T" => 12,
            "P" => 15,
            "E" => 18,
            _ => int.MinValue,
        };
        if (exponent != int.MinValue)
        {
            return true;
        }

        exponent = suffix switch
        {
            "Ki" => 10,
            "Mi" => 20,
            "Gi" => 30,
            "Ti" => 40,
            "Pi" => 50,
            "Ei" => 60,
            _ => int.MinValue,
        };
        if (exponent != int.MinValue)
        {
            isBinary = true;
            format = QuantityFormat.BinarySI;
            return true;
        }

        if (suffix.Length > 1 && (suffix[0] == 'e' || suffix[0] == 'E')
            && int.TryParse(suffix.AsSpan(1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent)
            && Math.Abs((long)exponent) <= MaxExponent)
        {
            format = QuantityFormat.DecimalExponent;
            return true;
        }

        exponent = 0;
        return false;
    }

    /// <summary>The value in whole units, rounded away from zero (Kubernetes' <c>Value()</c>).</summary>
    public long Value() => ScaledValue(0);

    /// <summary>The value in thousandths, rounded away from zero (Kubernetes' <c>MilliValue()</c>).</summary>
    public long MilliValue() => ScaledValue(-3);

    /// <summary>The value in units of 10^<paramref name="scale"/>, rounded away from zero; saturates at long bounds.</summary>
    public long ScaledValue(int scale)
    {
        var shift = scale + 9;
        BigInteger result;
        if (shift <= 0)
        {
            result = _nanos * BigInteger.Pow(10, -shift);
        }
        else
        {
            result = BigInteger.DivRem(_nanos, BigInteger.Pow(10, shift), out var remainder);
            if (!remainder.IsZero)
            {
                result += _nanos.Sign;
            }
        }

        return result > long.MaxValue ? long.MaxValue : result < long.MinValue ? long.MinValue : (long)result;
    }

    /// <summary>The exact value as a decimal (for display and ratios; saturates beyond decimal's range).</summary>
    public decimal ToDecimal()
    {
        var units = BigInteger.DivRem(_nanos, NanosPerUnit, out var rem);
        if (BigInteger.Abs(units) > new BigInteger(decimal.MaxValue))
        {
            return _nanos.Sign > 0 ? decimal.MaxValue : decimal.MinValue;
        }

        return (decimal)units + ((decimal)rem / 1_000_000_000m);
    }

    /// <summary>
    /// The sum, in the format of the left operand unless it is zero (as Kubernetes' Add does). An invalid quantity
    /// counts as zero.
    /// </summary>
    public Quantity Add(Quantity other) => new(_nanos + other._nanos, _nanos.IsZero ? other.Format : Format);

    public Quantity Subtract(Quantity other) => new(_nanos - other._nanos, _nanos.IsZero ? other.Format : Format);

    public Quantity Negate() => new(-_nanos, Format);

    public static Quantity operator +(Quantity left, Quantity right) => left.Add(right);

    public static Quantity operator -(Quantity left, Quantity right) => left.Subtract(right);

    public static bool operator ==(Quantity left, Quantity right) => left.Equals(right);

    public static bool operator !=(Quantity left, Quantity right) => !left.Equals(right);

    public static bool operator <(Quantity left, Quantity right) => left.CompareTo(right) < 0;

    public static bool operator >(Quantity left, Quantity right) => left.CompareTo(right) > 0;

    public static bool operator <=(Quantity left, Quantity right) => left.CompareTo(right) <= 0;

    public static bool operator >=(Quantity left, Quantity right) => left.CompareTo(right) >= 0;

    /// <summary>Compares values; the format does not matter (<c>1Ki</c> equals <c>1024</c>).</summary>
    public int CompareTo(Quantity other) => _nanos.CompareTo(other._nanos);

    /// <summary>Equal values are equal whatever their format; invalid quantities are equal when their text is.</summary>
    public bool Equals(Quantity other) =>
        IsValid && other.IsValid ? _nanos == other._nanos : string.Equals(_invalidText, other._invalidText, StringComparison.Ordinal) && _error == other._error;

    public override bool Equals(object? obj) => obj is Quantity other && Equals(other);

    public override int GetHashCode() => IsValid ? _nanos.GetHashCode() : StringComparer.Ordinal.GetHashCode(_invalidText!);

    /// <summary>The canonical text (Kubernetes' <c>String()</c>); an invalid quantity prints its raw text.</summary>
    public override string ToString()
    {
        if (!IsValid)
        {
            return _invalidText!;
        }

        if (_nanos.IsZero)
        {
            return "0";
        }

        var format = Format;
        if (format == QuantityFormat.BinarySI)
        {
            var abs = BigInteger.Abs(_nanos);
            if (abs < 1024 * NanosPerUnit || !(abs % NanosPerUnit).IsZero)
            {
                format = QuantityFormat.DecimalSI;
            }
        }

        return format == QuantityFormat.BinarySI ? FormatBinary() : FormatDecimal(format);
    }

    private string FormatBinary()
    {
        var value = BigInteger.Abs(_nanos / NanosPerUnit);
        var exponent = 0;
        while (value >= 1024 && (value % 1024).IsZero && exponent < 6)
        {
            value /= 1024;
            exponent++;
        }

        var sb = new StringBuilder();
        if (_nanos.Sign < 0)
        {
            sb.Append('-');
        }

        sb.Append(value.ToString(CultureInfo.InvariantCulture));
        sb.Append(exponent switch
        {
            0 => "",
            1 => "Ki",
            2 => "Mi",
            3 => "Gi",
            4 => "Ti",
            5 => "Pi",
            _ => "Ei",
        });
        return sb.ToString();
    }

    private string FormatDecimal(QuantityFormat format)
    {
        var mantissa = BigInteger.Abs(_nanos);
        var exponent = -9;
        while ((mantissa % 10).IsZero)
        {
            mantissa /= 10;
            exponent++;
        }

        // Floor the exponent to a multiple of three, growing the mantissa to match.
        var remainder = ((exponent % 3) + 3) % 3;
        if (remainder != 0)
        {
            mantissa *= BigInteger.Pow(10, remainder);
            exponent -= remainder;
        }

        string suffix;
        if (format == QuantityFormat.DecimalExponent)
        {
            suffix = exponent == 0 ? "" : "e" + exponent.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            if (exponent > 18)
            {
                mantissa *= BigInteger.Pow(10, exponent - 18);
                exponent = 18;
            }

            suffix = exponent switch
            {
                -9 => "n",
                -6 => "u",
                -3 => "m",
                0 => "",
                3 => "k",
                6 => "M",
                9 => "G",
                12 => "T",
                15 => "P",
                _ => "E",
            };
        }

        return (_nanos.Sign < 0 ? "-" : "") + mantissa.ToString(CultureInfo.InvariantCulture) + suffix;
    }
}
