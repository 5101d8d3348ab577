#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-only
#
# What Perl's TAP::Parser, the reader behind prove, counts in a KTAP
# document: its own level (TAP13 readers skip indented lines, so they see
# the document's sections), then every test without subtests, flattened to
# one TAP stream. A subtest that failed when none of its tests did counts
# as one failure. Used by tests/lib/agree.sh.
#
#   tests/lib/tap-count.pl DOC FLAT
# Prints "top P F S" and "leaves P F S"; writes the flattened TAP to FLAT
# (for prove). Status 1 when TAP::Parser finds the TAP itself wrong.
use strict;
use warnings;
use TAP::Parser;

my ($doc, $flat) = @ARGV;
open(my $in, '<', $doc) or die "tap-count: $doc: $!\n";
my @lines = <$in>;
close($in);

sub counts {
	my ($tap) = @_;
	my $p = TAP::Parser->new({ tap => $tap });
	1 while $p->next;
	my @errors = $p->parse_errors;
	print STDERR "tap-count: TAP::Parser: $_\n" for @errors;
	my $skipped = scalar($p->skipped);
	return (scalar($p->passed) - $skipped, scalar($p->failed), $skipped, scalar(@errors));
}

# Flattening: a result deeper than nothing open is a test; one that closes
# the block indented under it is that block's result.
my (@open, @out);
for my $l (@lines) {
	chomp $l;
	my ($ind, $body) = $l =~ /^( *)(.*)$/;
	my $i = length $ind;
	if ($body =~ /^KTAP version \d+$/ && $i > 0) {
		push @open, { ind => $i, ran => 0, failed => 0 };
		next;
	}
	next unless $body =~ /^(not )?ok \d+\s*(.*)$/;
	my ($not, $rest) = ($1, $2);
	my $skip = $rest =~ /#\s*SKIP/i;
	my $fail = $not && !$skip;
	if (@open && $open[-1]{ind} > $i) {
		my $b = pop @open;
		next if $b->{ran} && !($fail && !$b->{failed});
		$fail = 1 if $b->{ran};
	}
	$_->{ran}++ for grep { $_->{ind} <= $i } @open;
	if ($fail) {
		$_->{failed} = 1 for @open;
	}
	$rest =~ s/^- //;
	push @out, ($not ? 'not ok ' : 'ok ') . (@out + 1) . " - $rest";
}
open(my $fo, '>', $flat) or die "tap-count: $flat: $!\n";
print $fo '1..' . @out . "\n", map { "$_\n" } @out;
close($fo);

my @top = counts(join('', map { "$_\n" } @lines));
my @leaves = counts(join('', '1..' . @out . "\n", map { "$_\n" } @out));
print "top @top[0..2]\n";
print "leaves @leaves[0..2]\n";
exit($top[3] || $leaves[3] ? 1 : 0);
