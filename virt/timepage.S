/* The time page's code: clock_gettime, gettimeofday and time without a stop.
 *
 * Assembled once by hand (tests/test_timepage.py checks that virt/timepage.py
 * holds these bytes); placed at CODE_OFF in the image's first 4 KiB, the
 * header page right after that 4 KiB, then NSLOTS buffer pages.  Built with:
 *     gcc -c -o timepage.o virt/timepage.S && objcopy -O binary -j .text timepage.o timepage.bin
 *
 * Header page: u32 mode (1 record, 2 replay, anything else: make the call as
 * a syscall the tracer stops on), then at TABLE NSLOTS u32 thread ids (real
 * ones, as gettid gives them; 0: a free slot).  Slot i's buffer is the page
 * after the header page plus i: u32 count, u32 head at 4 and 8, then CAP
 * entries of ESIZE bytes from ENTRIES: u32 nr, u32 clock, u64 pointer, i64
 * result, u64 w0, u64 w1 (the timespec or timeval written, or time's value).
 * Only the thread a slot is given to uses it, so no update is atomic; the
 * tracer gives slots out and takes them back at the thread's stops.
 *
 * A thread finds its slot by its id, from a gettid made at gettid_end - 2
 * (which the seccomp filter lets through, recording and replaying); with no
 * slot, the call stops.  Record: the call is made at untraced_end - 2, which
 * the filter lets through while recording, and its result appended at count.
 * Replay: the entry at head is taken if it is the same call (number, clock,
 * pointer), and its bytes written where the kernel wrote them.  Every way out
 * leaves the same registers: the result in rax, the other call-clobbered ones
 * zero, so that the program's registers after the call do not depend on the
 * way taken.
 */
#define CODE_OFF 512
#define MODE 0
#define TABLE 64
#define NSLOTS 8
#define COUNT 4
#define HEAD 8
#define ENTRIES 64
#define ESIZE 40
#define CAP 100
#define DUSED 12
#define DHEAD 16
#define FDTAB 1024
#define FDMAX 1024
#define DATA 0x10000
#define DSIZE 0x100000
#define PREVIEW 32
#define LINKPATH 256

        .text
code:
        .set header, code - CODE_OFF + 4096
        .set slots, header + 4096
        .set fdtab, header + FDTAB
        .set data, code - CODE_OFF + DATA

clock_gettime_entry:            /* offset 0 */
        mov %edi, %edi          /* clockid_t is an int: the same word every time */
        mov $228, %eax
        mov %edi, %edx
        mov %rsi, %r10
        cmp $11, %edi           /* the static clocks only: others may name a pid */
        ja traced
        jmp common
        .balign 32
gettimeofday_entry:             /* offset 32 */
        mov $96, %eax
        xor %edx, %edx
        mov %rdi, %r10
        test %rsi, %rsi         /* a timezone asked for: the kernel's, traced */
        jnz traced
        jmp common
        .balign 32
time_entry:                     /* offset 64 */
        mov $201, %eax
        xor %edx, %edx
        mov %rdi, %r10
        jmp common
        .balign 32

common:                         /* eax nr, edx clock, r10 pointer; rdi, rsi the call's */
        mov header+MODE(%rip), %r8d
        cmp $1, %r8d
        je 1f
        cmp $2, %r8d
        jne traced
1:      mov %eax, %r9d          /* r9: the call's number from here on */
        mov $186, %eax          /* gettid */
        syscall
gettid_end:
        lea header+TABLE(%rip), %rcx
        xor %r11d, %r11d
2:      cmp %eax, (%rcx,%r11,4)
        je 3f
        inc %r11d
        cmp $NSLOTS, %r11d
        jb 2b
        mov %r9d, %eax
        jmp traced              /* no slot for this thread */
3:      shl $12, %r11
        lea slots(%rip), %r8
        add %r11, %r8           /* r8: the slot's page */
        mov %r9d, %eax
        cmpl $1, header+MODE(%rip)
        jne replay
        cmpl $CAP, COUNT(%r8)
        jae traced
        syscall
untraced_end:
        mov COUNT(%r8), %ecx
        imul $ESIZE, %rcx, %r11
        lea ENTRIES(%r8,%r11), %rcx
        mov %r9d, (%rcx)
        mov %edx, 4(%rcx)
        mov %r10, 8(%rcx)
        mov %rax, 16(%rcx)
        cmp $201, %r9d
        je 4f
        test %rax, %rax
        jnz 5f
        test %r10, %r10
        jz 5f
        mov (%r10), %r11
        mov %r11, 24(%rcx)
        mov 8(%r10), %r11
        mov %r11, 32(%rcx)
        jmp 5f
4:      mov %rax, 24(%rcx)
5:      incl COUNT(%r8)
        jmp done

replay:
        mov HEAD(%r8), %ecx
        cmp COUNT(%r8), %ecx
        jae traced
        imul $ESIZE, %rcx, %r11
        lea ENTRIES(%r8,%r11), %r11
        cmp %eax, (%r11)
        jne traced
        cmp %edx, 4(%r11)
        jne traced
        cmp %r10, 8(%r11)
        jne traced
        incl HEAD(%r8)
        mov 16(%r11), %rax
        test %r10, %r10
        jz done
        cmpl $201, (%r11)
        je 6f
        test %rax, %rax
        jnz done
        mov 24(%r11), %rcx
        mov %rcx, (%r10)
        mov 32(%r11), %rcx
        mov %rcx, 8(%r10)
        jmp done
6:      cmp $-4095, %rax
        jae done
        mov %rax, (%r10)
        jmp done

traced:                         /* a syscall the tracer stops on; eax the number */
        xor %r8d, %r8d
        xor %r9d, %r9d
        syscall
done:
        xor %ecx, %ecx
        xor %edx, %edx
        xor %esi, %esi
        xor %edi, %edi
        xor %r8d, %r8d
        xor %r9d, %r9d
        xor %r10d, %r10d
        xor %r11d, %r11d
        ret

/* I/O through the page (time_page 3).  The tracer rewrites a call site of
 * the program, `syscall; cmp $-4096,%rax` (8 bytes), to `jmp *cell; nop`,
 * and writes the site a stub at STUBS that comes here:
 *     lea -128(%rsp),%rsp; call io_entry; lea 128(%rsp),%rsp; jmp 1f;
 *     syscall; 1: cmp $-4096,%rax; jmp *back
 * (the syscall is reached only when the kernel restarts the call that was
 * stopped at as the site was rewritten).  eax holds the number and the
 * call's registers its arguments.  Buffered: readlink of an absolute path
 * not of /proc (its path, NUL included, before its bytes in the data area,
 * its address in the entry's r10 word); newfstatat of a path not of /proc
 * (time_page 4: its path, then struct stat, in the data area; its entry's
 * number with bit 31 set); read, write, pread64, fstat,
 * lseek, close, and newfstatat(fd, "", buf, AT_EMPTY_PATH), on an fd below
 * FDMAX whose byte in the header's fd table the recorder set (a regular
 * file, not of /proc or /sys; a pipe while the process may block alone).
 * Entries are those of the clock calls, the raw words: u32 nr, u32 rdi,
 * u64 rsi, i64 result, u64 rdx, u64 r10; the bytes the kernel wrote (read's
 * result bytes, fstat's 144), and the first PREVIEW bytes write wrote
 * (replay compares them), go in the slot's data area (DATA + slot * DSIZE;
 * DUSED bytes used while recording, DHEAD bytes
 * taken while replaying).  Every register but rax, rcx and r11 is kept, and
 * those two are zero on every way out.
 */
io_entry:
        push %rbx
        push %r12
        push %r13
        push %r14
        push %rsi
        push %rdi
        mov %eax, %ebx                  /* ebx: the number */
        mov header+MODE(%rip), %r12d
        cmp $1, %r12d
        je 1f
        cmp $2, %r12d
        jne io_traced
1:      xor %r14d, %r14d                /* r14: the most bytes the call writes */
        cmp $89, %ebx                   /* readlink(path, buf, size): an absolute path */
        jne 11f
        test %rdi, %rdi
        jz io_traced
        cmpb $'/', (%rdi)
        jne io_traced
        mov %rdi, %r11
        call io_path
        test %ecx, %ecx
        jz io_traced
        cmp $DSIZE, %rdx                /* the data: the path, then what the call wrote */
        ja io_traced
        lea (%rdx,%rcx), %r14
        jmp 5f
11:     cmp $262, %ebx
        jne 2f
        test %rsi, %rsi
        jz io_traced
        cmpb $0, (%rsi)
        je 12f
        mov %rsi, %r11                  /* newfstatat(dirfd, path, buf, flags) */
        call io_path
        test %ecx, %ecx
        jz io_traced
        lea 144(%rcx), %r14             /* the data: the path, then struct stat */
        bts $31, %ebx                   /* (the path's form, in the entry's number too) */
        jmp 5f
12:     test $0x1000, %r10d             /* AT_EMPTY_PATH, and the path "" */
        jz io_traced
        mov $144, %r14d
        jmp 4f
2:      cmp $17, %ebx
        ja io_traced
        mov $0x2012B, %r12d             /* read 0, write 1, close 3, fstat 5, lseek 8, pread64 17 */
        bt %ebx, %r12d
        jnc io_traced
        cmp $5, %ebx
        jne 3f
        mov $144, %r14d
3:      cmp $3, %ebx
        je 4f
        cmp $8, %ebx
        je 4f
        cmp $5, %ebx
        je 4f
        mov $PREVIEW, %r14d             /* write: the first bytes of what it writes */
        cmp $1, %ebx
        je 4f
        mov %rdx, %r14
        cmp $DSIZE, %r14
        ja io_traced
4:      cmp $FDMAX, %edi                /* unsigned: AT_FDCWD too */
        jae io_traced
        cmpl $1, header+MODE(%rip)
        jne 5f
        mov %edi, %r12d
        lea fdtab(%rip), %r13
        cmpb $0, (%r13,%r12)
        je io_traced
5:      mov $186, %eax                  /* gettid */
        syscall
io_gettid_end:
        lea header+TABLE(%rip), %rcx
        xor %r11d, %r11d
6:      cmp %eax, (%rcx,%r11,4)
        je 7f
        inc %r11d
        cmp $NSLOTS, %r11d
        jb 6b
        jmp io_traced                   /* no slot for this thread */
7:      mov %r11, %r13
        shl $20, %r13                   /* DSIZE */
        lea data(%rip), %rcx
        add %rcx, %r13                  /* r13: the slot's data area */
        shl $12, %r11
        lea slots(%rip), %r12
        add %r11, %r12                  /* r12: the slot's page */
        cmpl $1, header+MODE(%rip)
        jne io_replay
        cmpl $CAP, COUNT(%r12)
        jae io_traced
        mov DUSED(%r12), %ecx
        add %r14, %rcx
        cmp $DSIZE, %rcx
        ja io_traced
        cmp $3, %ebx
        jne 8f
        mov %edi, %ecx                  /* close: the fd is not known from now on */
        lea fdtab(%rip), %r11
        movb $0, (%r11,%rcx)
8:      mov %ebx, %eax
        btr $31, %eax
        syscall
io_untraced_end:
        mov COUNT(%r12), %ecx
        imul $ESIZE, %rcx, %r11
        lea ENTRIES(%r12,%r11), %r11
        mov %ebx, (%r11)
        mov %edi, 4(%r11)
        mov %rsi, 8(%r11)
        mov %rax, 16(%r11)
        mov %rdx, 24(%r11)
        mov %r10, 32(%r11)
        incl COUNT(%r12)
        cmp $89, %ebx
        je io_link
        bt $31, %ebx
        jc io_statpath
        call io_span
        mov DUSED(%r12), %edi
        add %ecx, DUSED(%r12)
        add %r13, %rdi
        mov %r11, %rsi
        rep movsb
        jmp io_done

io_replay:
        mov HEAD(%r12), %ecx
        cmp COUNT(%r12), %ecx
        jae io_traced
        imul $ESIZE, %rcx, %r11
        lea ENTRIES(%r12,%r11), %r11
        cmp %ebx, (%r11)
        jne io_traced
        cmp %edi, 4(%r11)
        jne io_traced
        cmp %rsi, 8(%r11)
        jne io_traced
        cmp %rdx, 24(%r11)
        jne io_traced
        mov %r10, %rcx
        cmp $89, %ebx                   /* readlink: its path's address in r10's place */
        jne 1f
        mov %rdi, %rcx
1:      cmp %rcx, 32(%r11)
        jne io_traced
        cmp $89, %ebx
        je io_link_replay
        bt $31, %ebx
        jc io_statpath_replay
        mov 16(%r11), %rax
        call io_span
        mov %rcx, %r14                  /* r14: the entry's bytes in the data area */
        mov DHEAD(%r12), %esi
        add %r13, %rsi
        mov %r11, %rdi
        cmp $1, %ebx
        jne 9f
        repe cmpsb                      /* write: the same first bytes, or not this call */
        jne io_traced
        jmp 10f
9:      rep movsb                       /* the bytes the call wrote */
10:     add %r14d, DHEAD(%r12)
        incl HEAD(%r12)
        jmp io_done

io_link:                                /* readlink, recorded: its path, then its bytes */
        mov %rdi, 32(%r11)
        mov %rdi, %rsi
        mov %r14, %rcx
        sub %rdx, %rcx                  /* the path's length, as measured before the call */
        mov %rax, %r14                  /* r14: the result */
        call io_keep_path
        test %r14, %r14
        jle 1f
        mov %r14, %rcx
        mov 8(%rsp), %rsi               /* the buffer (the pushed rsi) */
        rep movsb
1:      jmp io_kept

io_statpath:                            /* newfstatat of a path, recorded: its path, then struct stat */
        lea -144(%r14), %rcx            /* the path's length, as measured before the call */
        mov %rax, %r14                  /* r14: the result */
        call io_keep_path               /* (io_done puts rdi and rsi back) */
        test %r14, %r14
        jnz io_kept
        mov $144, %ecx
        mov %rdx, %rsi
        rep movsb
io_kept:
        sub %r13, %rdi
        mov %edi, DUSED(%r12)
        mov %r14, %rax
        jmp io_done

io_keep_path:                           /* the rcx bytes of the path at rsi, to rdi: the data area's end */
        mov DUSED(%r12), %edi
        add %r13, %rdi
        rep movsb
        movb $0, -1(%rdi)               /* a NUL, even if another thread changed the path meanwhile */
        ret

io_link_replay:                         /* the same path, or not this call; then its bytes */
        mov %r14, %rcx
        sub %rdx, %rcx                  /* the path's length */
        mov 16(%r11), %r14              /* r14: the recorded result */
        call io_same_path               /* rdi: the program's path */
        jne io_traced
        test %r14, %r14
        jle 1f
        mov %r14, %rcx
        mov 8(%rsp), %rdi
        rep movsb
1:      jmp io_taken

io_statpath_replay:                     /* the same path, or not this call; then struct stat */
        lea -144(%r14), %rcx            /* the path's length */
        mov 16(%r11), %r14              /* r14: the recorded result */
        mov %rsi, %rdi
        call io_same_path
        jne io_traced
        test %r14, %r14
        jnz io_taken
        mov $144, %ecx
        mov %rdx, %rdi
        rep movsb
io_taken:
        sub %r13, %rsi
        mov %esi, DHEAD(%r12)
        incl HEAD(%r12)
        mov %r14, %rax
        jmp io_done

io_same_path:                           /* ZF: the rcx bytes at rdi are the entry's path (rsi past it) */
        mov DHEAD(%r12), %esi
        add %r13, %rsi
        repe cmpsb
        ret

io_path:                                /* ecx: the length of the path at r11, NUL included, */
        xor %ecx, %ecx                  /* or 0: it is of /proc (whose paths the VEE translates) */
        cmpb $'/', (%r11)               /* or longer than LINKPATH */
        jne 1f
        cmpb $'p', 1(%r11)
        jne 1f
        cmpb $'r', 2(%r11)
        jne 1f
        cmpb $'o', 3(%r11)
        jne 1f
        cmpb $'c', 4(%r11)
        je 2f
1:      cmpb $0, (%r11,%rcx)
        lea 1(%rcx), %rcx
        je 3f
        cmp $LINKPATH, %ecx
        jb 1b
2:      xor %ecx, %ecx
3:      ret

io_span:                                /* ebx nr, rax result: rcx bytes written at r11 */
        xor %ecx, %ecx
        mov %rsi, %r11
        cmp $262, %ebx
        jne 1f
        mov %rdx, %r11
        jmp 2f
1:      cmp $5, %ebx
        je 2f
        cmp $3, %ebx
        je 3f
        cmp $8, %ebx
        je 3f
        test %rax, %rax                 /* read, pread64: the result's bytes; */
        jle 3f
        mov %rax, %rcx
        cmp $1, %ebx                    /* write: the first PREVIEW of them */
        jne 3f
        cmp $PREVIEW, %rcx
        jbe 3f
        mov $PREVIEW, %ecx
        ret
2:      test %rax, %rax                 /* fstat, newfstatat: struct stat */
        jnz 3f
        mov $144, %ecx
3:      ret

io_done:
        pop %rdi
        pop %rsi
        pop %r14
        pop %r13
        pop %r12
        pop %rbx
        xor %ecx, %ecx
        xor %r11d, %r11d
        ret

io_traced:                              /* a syscall the tracer stops on */
        mov %ebx, %eax
        btr $31, %eax
        pop %rdi
        pop %rsi
        pop %r14
        pop %r13
        pop %r12
        pop %rbx
        syscall
io_traced_end:
        xor %ecx, %ecx
        xor %r11d, %r11d
        ret
