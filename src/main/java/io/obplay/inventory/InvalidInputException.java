package io.obplay.inventory;

import java.util.List;
import java.util.stream.Collectors;

/** Thrown when an inventory or playbook has mistakes; carries all of them, sorted by position. */
public class InvalidInputException extends Exception {
    private final List<Problem> problems;

    public InvalidInputException(List<Problem> problems) {
        super(problems.stream().sorted().map(Problem::toString).collect(Collectors.joining("\n")));
        this.problems = problems.stream().sorted().toList();
    }

    public List<Problem> problems() {
        return problems;
    }
}
