/* pybm-p4c core library: the declarations every P4_16 program may use
 * (P4_16 language specification, "P4 core library"). Written for pybm. */
#ifndef PYBM_CORE_P4
#define _CORE_P4_
#define PYBM_CORE_P4

/* Standard parser errors. */
error {
    NoError,
    PacketTooShort,
    NoMatch,
    StackOutOfBounds,
    HeaderTooShort,
    ParserTimeout,
    ParserInvalidArgument
}

/* Input packet as seen by a parser. */
extern packet_in {
    /* Extract a fixed-size header and advance. */
    void extract<T>(out T hdr);
    /* Extract a header with one varbit field of the given size in bits. */
    void extract<T>(out T variableSizeHeader, in bit<32> variableFieldSizeInBits);
    /* Peek at the next bits without advancing. */
    T lookahead<T>();
    /* Skip bits. */
    void advance(in bit<32> sizeInBits);
    /* Total packet length in bytes. */
    bit<32> length();
}

/* Output packet built by a deparser. */
extern packet_out {
    /* Append a header (if valid), or each header of a struct, stack or union. */
    void emit<T>(in T hdr);
}

/* Stop parsing with the given error when check is false. */
extern void verify(in bool check, in error toSignal);

/* The action that does nothing; the usual default. */
@noWarn("unused")
action NoAction() {}

/* Match kinds every architecture understands. */
match_kind {
    exact,
    ternary,
    lpm
}

#endif
