/* The soft engine's legacy 8259A PIC pair (master 0x20, slave 0xA0 on IRQ2) with the ELCR. */
#ifndef POPEK_SOFT_PIC_H
#define POPEK_SOFT_PIC_H

#include "popek/layout.h"
#include "popek/types.h"

/* Edge/level control registers, one bit per IRQ (PIIX ELCR1/ELCR2). */
#define SOFT_PIC_PORT_ELCR 0x4D0

/* One 8259A (Intel 8259A datasheet). */
struct soft_pic_chip {
	u8 irr, isr, imr;
	u8 lines;     /* current input levels */
	u8 elcr;      /* level-triggered inputs */
	u8 elcr_mask; /* ELCR bits that may be set */
	u8 base;      /* ICW2: vector of IR0 */
	u8 prio_add;  /* the IR with the highest priority (rotation) */
	u8 icw_step;  /* 0: operational; 2, 3, 4: expecting that ICW */
	bool icw4_needed, single, ltim;
	bool auto_eoi, rotate_aeoi, sfnm, special_mask;
	bool read_isr; /* OCW3 RR/RIS: reads of the command port give ISR */
	bool poll;     /* OCW3 P: the next read is a poll */
};

typedef void soft_pic_intr_fn(void *opaque, bool level);

/*
 * Not thread-safe by itself: irq_route.c serializes every call with its
 * lock. intr(opaque, level) is called (with that lock held) whenever the
 * master's INT output changes; it goes to the BSP's LINT0.
 */
struct soft_pic {
	struct soft_pic_chip chip[2]; /* [0] master, [1] slave */
	bool intr;                    /* master INT output */
	soft_pic_intr_fn *intr_fn;
	void *opaque;
};

void soft_pic_init(struct soft_pic *pic, soft_pic_intr_fn *intr, void *opaque);
/* Power-on state: everything masked, bases 0x08/0x70 (as a BIOS leaves them). */
void soft_pic_reset(struct soft_pic *pic);
/* Input irq (0-15) changed level. Edge inputs latch IRR on the rising edge;
 * level inputs (ELCR or ICW1.LTIM) hold IRR while high. IRQ2 is the cascade:
 * setting it does nothing. */
void soft_pic_set_irq(struct soft_pic *pic, unsigned irq, bool level);
/* The CPU's interrupt acknowledge: returns the vector (ISR set unless
 * auto-EOI) or the spurious IRQ7/IRQ15 vector when nothing is pending. */
int soft_pic_ack(struct soft_pic *pic);
bool soft_pic_intr(const struct soft_pic *pic);
/* After the chips' registers were replaced (a snapshot's load): recomputes
 * the cascade input and INT from them, and tells intr_fn INT's level. */
void soft_pic_resync(struct soft_pic *pic);
/* Ports 0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1; others read 0xFF / are ignored. */
u8 soft_pic_read(struct soft_pic *pic, u16 port);
void soft_pic_write(struct soft_pic *pic, u16 port, u8 value);

#endif
