import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.bson.BsonRegularExpression;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.KeyConstraintError;

import java.util.Collection;
import java.util.List;

/**
 * A collection's `_id` index that also answers queries naming `_id` beside other fields.
 *
 * mongo-java-server reads from an index only when a query names exactly the index's fields,
 * and scans the whole collection otherwise. A conditional write by id
 * ({_id: {$in: ids}, status: 'pending'}) then reads every document, and holds the collection's
 * lock while it does: about 3.5 ms at 4,000 documents, growing with the collection. MongoDB
 * answers it from the `_id` index. The fields of a query must all match, so the documents its
 * `_id` condition selects include every document it matches; the collection applies the whole
 * query to them. (Counts and aggregations do not go through indexes here at all.)
 */
final class IdLookupIndex<P> extends Index<P> {

    private static final String ID = "_id";

    private final Index<P> index;

    /** The `_id` index wrapped; any other index as it is. */
    static <P> Index<P> of(Index<P> index, List<IndexKey> keys, boolean sparse) {
        boolean idIndex = keys.size() == 1 && ID.equals(keys.get(0).getKey());
        return idIndex ? new IdLookupIndex<>(index, keys, sparse) : index;
    }

    private IdLookupIndex(Index<P> index, List<IndexKey> keys, boolean sparse) {
        super(index.getName(), keys, sparse);
        this.index = index;
    }

    @Override
    public boolean canHandle(Document query) {
        return index.canHandle(lookup(query));
    }

    @Override
    public Iterable<P> getPositions(Document query) {
        return index.getPositions(lookup(query));
    }

    /**
     * The query's `_id` condition alone, when it has one beside other fields and it is a
     * value or an `$in` of values. Anything else goes on as it was: the library's index
     * lookup and its matcher disagree on regular expressions, arrays and documents.
     */
    private static Document lookup(Document query) {
        if (query.size() < 2 || !query.containsKey(ID)) return query;
        Object condition = query.get(ID);
        boolean plain = isPlainValue(condition)
            || condition instanceof Document in && in.size() == 1 && in.get("$in") instanceof Collection<?> values
                && values.stream().allMatch(IdLookupIndex::isPlainValue);
        return plain ? new Document(ID, condition) : query;
    }

    private static boolean isPlainValue(Object value) {
        return value != null && !(value instanceof Document) && !(value instanceof Collection<?>)
            && !(value instanceof BsonRegularExpression);
    }

    @Override
    public boolean isUnique() {
        return index.isUnique();
    }

    @Override
    public String toString() {
        return index.toString();
    }

    @Override
    public P getPosition(Document document) {
        return index.getPosition(document);
    }

    @Override
    public void checkAdd(Document document, MongoCollection<P> collection) {
        index.checkAdd(document, collection);
    }

    @Override
    public void add(Document document, P position, MongoCollection<P> collection) {
        index.add(document, position, collection);
    }

    @Override
    public P remove(Document document) {
        return index.remove(document);
    }

    @Override
    public long getCount() {
        return index.getCount();
    }

    @Override
    public boolean isEmpty() {
        return index.isEmpty();
    }

    @Override
    public long getDataSize() {
        return index.getDataSize();
    }

    @Override
    public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<P> collection) {
        index.checkUpdate(oldDocument, newDocument, collection);
    }

    @Override
    public void updateInPlace(Document oldDocument, Document newDocument, P position, MongoCollection<P> collection)
        throws KeyConstraintError {
        index.updateInPlace(oldDocument, newDocument, position, collection);
    }

    @Override
    public void drop() {
        index.drop();
    }
}
