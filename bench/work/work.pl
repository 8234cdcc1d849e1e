# The perl workload of tests/real/perl.sh and of `make bench` (bench/run.py):
# hashes of 150k keys built, deleted from and rebuilt, regular expressions,
# sorts with custom comparators, string building, nested references,
# closures, sprintf/pack/unpack, and two ithreads when this perl has them.
# Run with PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0 for the same output every time.
use strict;
use warnings;
use Digest::MD5 qw(md5_hex);
use Config;

sub emit { print join(" ", @_), "\n" }
sub digest { md5_hex(join("\x1f", @_)) }

# hashes: 150k keys, churn, nested values
my %h;
for my $i (0 .. 149_999) {
    $h{sprintf("key-%07d-%d", $i, $i * 7919 % 10007)} = $i * 3;
}
emit "hash keys", scalar(keys %h);
my $sum = 0;
$sum += $_ for values %h;
emit "hash sum", $sum;
my $n = 0;
for my $k (sort keys %h) { delete $h{$k} if $n++ % 3 == 0 }
$h{reverse $_} = [$_, length $_] for grep { /7/ } keys %h;
emit "after churn", scalar(keys %h), digest(map { "$_=" . (ref $h{$_} ? "@{$h{$_}}" : $h{$_}) } (sort keys %h)[0 .. 999]);
undef %h;

# arrays of hashes of arrays, sorted several ways
my @recs = map { { id => $_, name => "n" . ($_ * 104729 % 100_003), tags => [ map { "t$_" } 0 .. $_ % 6 ] } } 0 .. 49_999;
my @by_name = sort { $a->{name} cmp $b->{name} or $a->{id} <=> $b->{id} } @recs;
my @by_tags = sort { @{$b->{tags}} <=> @{$a->{tags}} or $a->{id} <=> $b->{id} } @recs;
emit "sorted", digest(map { $_->{id} } @by_name[0 .. 2000]), digest(map { $_->{id} } @by_tags[0 .. 2000]);
my @nums = sort { $a <=> $b } map { ($_ * 2654435761) % 4294967296 } 0 .. 99_999;
emit "numeric sort", $nums[0], $nums[-1], $nums[50_000], digest(@nums[0 .. 999]);
@recs = @by_name = @by_tags = @nums = ();

# regular expressions: captures, global matches, substitutions
my $text = join "\n", map { sprintf "%05d user%d\@host%d.example.org GET /path/%x/item?id=%d HTTP/1.1 %d", $_, $_ % 97, $_ % 13, $_ * 31, $_, 200 + $_ % 5 } 0 .. 24_999;
my %status;
my %hosts;
while ($text =~ /^(\d+) (\w+)\@(host\d+)\S* GET (\S+) HTTP\/1\.1 (\d+)$/mg) {
    $status{$5}++;
    $hosts{$3} .= substr($2, -2);
}
emit "status", map { "$_:$status{$_}" } sort keys %status;
emit "hosts", scalar(keys %hosts), digest(map { "$_=$hosts{$_}" } sort keys %hosts);
(my $t2 = $text) =~ s/user(\d+)/"U" . ($1 * 2)/ge;
$t2 =~ s/\b(\w)(\w*)\b/\u$1\L$2/g;
emit "substituted", length $t2, md5_hex($t2);
my @words = split /[^A-Za-z]+/, $t2;
my %freq;
$freq{lc $_}++ for @words;
emit "words", scalar(@words), scalar(keys %freq), digest(map { "$_:$freq{$_}" } sort { $freq{$b} <=> $freq{$a} or $a cmp $b } keys %freq);
undef $text;
undef $t2;

# string building: appends, repeats, joins, substr replacement
my $s = "";
for my $i (0 .. 99_999) {
    $s .= chr(97 + $i % 26) x (1 + $i % 5);
    substr($s, -3, 2) = uc substr($s, -3, 2) if $i % 1000 == 0;
}
emit "built", length $s, md5_hex($s);
my @chunks = unpack "(A777)*", $s;
emit "chunks", scalar(@chunks), md5_hex(join "|", reverse @chunks);
my $packed = pack "N*", map { $_ * 40503 } 0 .. 99_999;
emit "packed", length $packed, md5_hex($packed), (unpack "N*", $packed)[77_777];

# closures and references: a linked list and a cycle broken by hand
my @subs = map { my $k = $_; sub { $k * $_[0] + length("x" x ($k % 50)) } } 0 .. 9999;
my $acc = 0;
$acc += $subs[$_]->($_) for 0 .. 9999;
emit "closures", $acc;
my $list;
$list = { v => $_, next => $list, pad => "p" x ($_ % 100) } for 0 .. 99_999;
my ($cnt, $tot) = (0, 0);
for (my $p = $list; $p; $p = $p->{next}) { $cnt++; $tot += $p->{v} + length $p->{pad} }
emit "linked list", $cnt, $tot;
$list = undef;

# big numbers as strings: a factorial by hand (digit arrays)
my @d = (1);
for my $f (2 .. 700) {
    my $carry = 0;
    for my $i (0 .. $#d) {
        my $x = $d[$i] * $f + $carry;
        $d[$i] = $x % 10000;
        $carry = int($x / 10000);
    }
    while ($carry) { push @d, $carry % 10000; $carry = int($carry / 10000) }
}
my $fact = join "", $d[-1], map { sprintf "%04d", $_ } reverse @d[0 .. $#d - 1];
emit "700!", length $fact, md5_hex($fact);

# interpreter threads: each clones the interpreter (a burst of allocation)
if ($Config{useithreads}) {
    require threads;
    my @thr = map {
        my $id = $_;
        threads->create(sub {
            my %local;
            $local{"$id-$_"} = [ ($_) x ($_ % 7) ] for 0 .. 49_999;
            my $str = join ",", map { "$_=" . scalar @{$local{$_}} } sort keys %local;
            return md5_hex($str);
        });
    } 1 .. 2;
    emit "threads", map { $_->join } @thr;
} else {
    emit "threads", "(no ithreads)";
}
emit "done";
