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

        .text
code:
        .set header, code - CODE_OFF + 4096
        .set slots, header + 4096

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
